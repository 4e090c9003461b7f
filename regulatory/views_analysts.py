"""HTML pages of the analysts' tools (issue 10): a jurisdiction's page, a
therapy's page, search and the catalyst calendar. Thin like `views`: check
the query string, call one builder in `regulatory.pages`, render; bad input
is a 400 page naming the parameter, an unknown code or slug a 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from regulatory.httpcache import cached_read
from regulatory.pages import calendar as calendar_page
from regulatory.pages import jurisdiction as jurisdiction_page
from regulatory.pages import parameters
from regulatory.pages import search as search_page
from regulatory.pages import therapy as therapy_page
from regulatory.pages.matrix import status_legend
from regulatory.views import answers_bad_parameters


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True)
@answers_bad_parameters
def jurisdiction(request: HttpRequest, code: str) -> HttpResponse:
    today = timezone.localdate()
    as_of = parameters.matrix_params_parse(request.GET) or today
    page = jurisdiction_page.jurisdiction_page_build(code=code.lower(), as_of=as_of, today=today)
    if page is None:
        raise Http404("No jurisdiction has this code.")
    return render(request, "regulatory/jurisdiction.html", {"page": page, "legend": status_legend()})


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True)
@answers_bad_parameters
def therapy(request: HttpRequest, slug: str) -> HttpResponse:
    today = timezone.localdate()
    as_of = parameters.matrix_params_parse(request.GET) or today
    page = therapy_page.therapy_page_build(slug=slug.lower(), as_of=as_of, today=today)
    if page is None:
        raise Http404("No therapy has this slug.")
    return render(request, "regulatory/therapy.html", {"page": page, "legend": status_legend()})


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True)  # "upcoming" marks on decisions
@answers_bad_parameters
def search(request: HttpRequest) -> HttpResponse:
    params = search_page.search_params_parse(request.GET)
    context = {"params": params, "results": search_page.search_build(params=params), "today": timezone.localdate()}
    return render(request, "regulatory/search.html", context)


@require_safe
@cached_read(depends_on_today=True, anonymous_only=True)
def calendar(request: HttpRequest) -> HttpResponse:
    # No parameters: anything in the query string is ignored, like a feed's.
    page = calendar_page.calendar_build(today=timezone.localdate())
    return render(request, "regulatory/calendar.html", {"calendar": page})
