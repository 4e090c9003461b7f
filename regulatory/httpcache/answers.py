"""The two ways a read is answered: the public reader's short path, before
any authentication, user lookup or content negotiation (`public_answer`),
and the full path (`full_answer`), the one sequence every cached read runs:
validators, then 304, then a kept body, then the view, stamped and kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from regulatory.httpcache import bodies
from regulatory.httpcache.validators import (
    Validators,
    local_today,
    not_modified,
    public_not_modified,
    stamp,
    validators_for,
)


def is_public_reader(request: HttpRequest) -> bool:
    """No credentials of any kind: no Authorization header, no session cookie.
    Such a reader is anonymous to DRF and to Django alike."""
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


def public_answer(request: HttpRequest, *, depends_on_today: bool) -> HttpResponseBase | None:
    """For a public reader's GET or HEAD: the 304 or the kept body, computed
    before any authentication or content negotiation; None when the full path
    must answer (nothing kept yet, another method, a reader with credentials).

    A 304 is answered here only when If-None-Match names this very ETag (or a
    body is kept under it): the ETag names the Accept header, and one exists
    only once the full path has answered that header with a 200, so no
    request that the full path would refuse (406) is answered here."""
    if request.method not in ("GET", "HEAD") or not is_public_reader(request):
        return None
    validators = validators_for(request, today=local_today() if depends_on_today else None)
    if validators.etag in request.META.get("HTTP_IF_NONE_MATCH", ""):
        response = public_not_modified(request, validators)
        if response is not None:
            return response
    kept = bodies.kept_body(validators) if settings.RESPONSE_CACHE_SECONDS else None
    if kept is None:
        # The full path reuses these validators and knows nothing is kept:
        # a first build costs no second validator query or cache lookup.
        request._public_validators = validators  # type: ignore[attr-defined]  # read back by the full path of this request
        return None
    return not_modified(request, validators) or bodies.from_kept(kept, validators)


def full_path_validators(
    request: HttpRequest, *, viewer: str = "public", depends_on_today: bool
) -> tuple[Validators, bool]:
    """The full path's validators, and whether a kept body may still answer
    (False when `public_answer` has just looked and found none)."""
    django_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    known = getattr(django_request, "_public_validators", None)
    if known is not None and viewer == "public":
        return known, False
    return validators_for(request, viewer=viewer, today=local_today() if depends_on_today else None), True


def full_answer(
    request: HttpRequest, build: Callable[[], HttpResponseBase], *, viewer: str = "public", depends_on_today: bool
) -> HttpResponseBase:
    """The full path: the validators (computed after authentication, so an
    editor's differ), then a 304 for a current copy, else a kept body, else
    the view's answer, stamped and kept when it is a 200. A response still to
    be rendered (DRF's, after content negotiation) is kept once rendered."""
    validators, may_be_kept = full_path_validators(request, viewer=viewer, depends_on_today=depends_on_today)
    response = not_modified(request, validators) or (bodies.cached_response(validators) if may_be_kept else None)
    if response is not None:
        return response
    response = build()
    if response.status_code == 200:
        stamp(response, validators)
        if getattr(response, "is_rendered", True):
            bodies.remember(response, validators)
        else:
            cast(SimpleTemplateResponse, response).add_post_render_callback(
                lambda rendered: bodies.remember(rendered, validators)
            )
    return response
