"""HTML pages for analysts. Each view checks its query string, calls one
builder in `regulatory.pages` and renders; bad input gets a 400 page that
names the parameter."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from regulatory import record_time
from regulatory.httpcache import cached_read
from regulatory.models import ProgrammeState
from regulatory.pages import chart, cite, parameters
from regulatory.pages import compare as compare_page
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
@cached_read(depends_on_today=True, anonymous_only=True, params=[parameters.MatrixFilterForm])
@answers_bad_parameters
def matrix(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    params = parameters.matrix_filters_parse(request.GET)
    # Record time (`recorded_as_of`): the matrix as the tracker showed it then, on that date by default.
    recorded = compare_page.recorded_param_parse(request.GET)
    as_of = params.as_of or (recorded.date if recorded else today)
    follow_links = matrix_page.follow_links(params)
    context = {
        "matrix": matrix_page.matrix_build(as_of=as_of, today=today, filters=params, recorded=recorded),
        "legend": matrix_page.status_legend(),
        "recorded": recorded,
        "compare": compare_page.matrix_compare_links(as_of=as_of, recorded=recorded),
        # Filters, "follow this view", exports and "Cite this" (issue 10).
        "params": params,
        "follow_links": follow_links,
        "follow": {link.key: link for link in follow_links},
        "export_links": matrix_page.export_links(params),
        "citation": cite.matrix_citation(
            params=params, as_of=as_of, today=today, release=cite.dataset_release_current()
        ),
    }
    return render(request, "regulatory/matrix.html", context)


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True, params=["from", "to", "recorded_as_of"])
@answers_bad_parameters
def compare(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    params = compare_page.compare_params_parse(request.GET, today=today)
    today_query = urlencode({"from": params.date_from.isoformat(), "to": params.date_to.isoformat()})
    recorded = params.recorded
    context = {
        "page": compare_page.compare_page_build(params=params, today=today),
        "today_url": f"{request.path}?{today_query}",
        "citation": cite.compare_citation(
            date_from=params.date_from,
            date_to=params.date_to,
            today=today,
            release=cite.dataset_release_current(),
            recorded_as_of=recorded.raw if recorded else "",
        ),
    }
    return render(request, "regulatory/compare.html", context)


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
@cached_read(anonymous_only=True, params=["recorded_as_of"])
@answers_bad_parameters
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors see drafts and editor-only notes (broken source links, who
    recorded a change): signed-in readers always get a fresh page, anonymous
    readers a conditional, kept one (per record time asked for)."""
    recorded = compare_page.recorded_param_parse(request.GET)
    page = decision_page.decision_page_build(pk=pk, user=request.user)
    if page is not None and recorded is not None:
        page = record_time.decision_page_recorded(page, recorded)
        if page is None:
            raise Http404("This decision was not yet on record at that time.")
    if page is None:
        raise Http404("No published decision has this number.")
    # Drafts (an editor's view) have no public page to cite.
    citation = (
        None
        if page.editor_view
        else cite.decision_citation(
            decision=page.decision,
            today=timezone.localdate(),
            release=cite.dataset_release_current(),
            recorded_as_of=recorded.raw if recorded else "",
        )
    )
    context = {
        "page": page,
        "decision": page.decision,
        "recorded": recorded,
        "today_url": request.path,
        "citation": citation,
    }
    return render(request, "regulatory/decision.html", context)


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
