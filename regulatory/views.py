"""HTML pages for analysts. Each view checks its query string, calls one
builder in `regulatory.pages` and renders; bad input gets a 400 page that
names the parameter."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from regulatory.httpcache import cached_read
from regulatory.models import ProgrammeState
from regulatory.pages import chart, parameters
from regulatory.pages import decision as decision_page
from regulatory.pages import matrix as matrix_page
from regulatory.pages import programmes as programme_pages
from regulatory.pages import timeline as timeline_page


def _bad_request(request: HttpRequest, error: parameters.BadParameter, back: str) -> HttpResponse:
    return render(request, "regulatory/bad_request.html", {"error": error, "back": back}, status=400)


def answers_bad_parameters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn a BadParameter raised while reading the query string into a
    friendly 400 page linking back to the page without parameters."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except parameters.BadParameter as error:
            return _bad_request(request, error, request.path)

    return wrapper


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True, params=[parameters.MatrixForm])
@answers_bad_parameters
def matrix(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    as_of = parameters.matrix_params_parse(request.GET) or today
    context = {
        "matrix": matrix_page.matrix_build(as_of=as_of, today=today),
        "legend": matrix_page.status_legend(),
    }
    return render(request, "regulatory/matrix.html", context)


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True, params=[parameters.TimelineForm])
@answers_bad_parameters
def timeline(request: HttpRequest) -> HttpResponse:
    params = parameters.timeline_params_parse(request.GET)
    context = {
        "timeline": timeline_page.timeline_build(params=params, today=timezone.localdate()),
        "legend": matrix_page.status_legend(),
        "kind_legend": chart.kind_legend(),
    }
    return render(request, "regulatory/timeline.html", context)


@require_safe
@cached_read(anonymous_only=True)
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors see drafts and editor-only notes (broken source links, who
    recorded a change): signed-in readers always get a fresh page, anonymous
    readers a conditional, kept one that reads no query parameter."""
    page = decision_page.decision_page_build(pk=pk, user=request.user)
    if page is None:
        raise Http404("No published decision has this number.")
    return render(request, "regulatory/decision.html", {"page": page, "decision": page.decision})


@require_safe
@cached_read(anonymous_only=True, params=[parameters.ProgrammeForm])
@answers_bad_parameters
def programmes(request: HttpRequest) -> HttpResponse:
    params = parameters.programme_params_parse(request.GET)
    context = {
        "params": params,
        "groups": programme_pages.programme_groups_build(params=params),
        "states": ProgrammeState.choices,
    }
    return render(request, "regulatory/programmes.html", context)
