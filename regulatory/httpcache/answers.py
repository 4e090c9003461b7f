"""The two ways a read is answered: the public reader's short path, before
any authentication, user lookup or content negotiation (`public_answer`),
and the full path (`full_answer`), the one sequence every cached read runs:
validators, then 304, then a kept body, then the view, stamped and kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from regulatory.httpcache import bodies
from regulatory.httpcache.validators import (
    Validators,
    local_today,
    negotiated,
    not_modified,
    public_not_modified,
    stamp,
    validators_for,
)
from regulatory.selectors import RecordVersion

# DRF's URL_FORMAT_OVERRIDE (its default): it changes the negotiation.
FORMAT_PARAM = "format"


def is_public_reader(request: HttpRequest) -> bool:
    """No credentials of any kind: no Authorization header, no session cookie.
    Such a reader is anonymous to DRF and to Django alike."""
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


@dataclass(frozen=True)
class Read:
    """What a cached read's validators are made of, besides the request:
    `depends_on_today` (the answer changes at midnight), `params` (the query
    parameters the view reads; others are answered but not kept) and
    `source` (the version, when it is not the record's)."""

    depends_on_today: bool = False
    params: frozenset[str] | None = None
    source: Callable[[], RecordVersion] | None = None

    def validators(self, request: HttpRequest, *, viewer: str = "public", representation: str | None = None):
        return validators_for(
            request,
            viewer=viewer,
            today=local_today() if self.depends_on_today else None,
            representation=representation,
            params=self.params,
            source=self.source,
        )


def public_answer(request: HttpRequest, *, read: Read, representation: str | None = "") -> HttpResponseBase | None:
    """For a public reader's GET or HEAD: the 304 or the kept body, computed
    before any authentication or content negotiation; None when the full path
    must answer (nothing kept yet, another method, a reader with credentials).

    For the API, `representation` is the format DRF negotiated for this
    Accept header before (`known_representation`): a 304 or a kept body is
    answered here only for an Accept header that DRF has accepted once, so
    no request that the full path would refuse (406) is answered here; None
    (not negotiated yet) leaves it to the full path."""
    if representation is None or request.method not in ("GET", "HEAD") or not is_public_reader(request):
        return None
    validators = read.validators(request, representation=representation)
    if validators.etag in request.META.get("HTTP_IF_NONE_MATCH", ""):
        response = public_not_modified(request, validators)
        if response is not None:
            return response
    kept = bodies.kept_body(validators) if settings.RESPONSE_CACHE_SECONDS and validators.keep else None
    if kept is None:
        # The full path reuses these validators and knows nothing is kept:
        # a first build costs no second validator query or cache lookup.
        request._public_validators = validators  # type: ignore[attr-defined]  # read back by the full path of this request
        return None
    return not_modified(request, validators) or bodies.from_kept(kept, validators)


# The format DRF negotiated, by view class, Accept header and `format`
# parameter: learnt on the full path, after content negotiation, so that the
# public path (before it) names the same format. Bounded by clearing.
_NEGOTIATED: dict[tuple[type, str, str | None], str] = {}
_NEGOTIATED_MAX = 1024


def _negotiation_key(view_class: type, request: HttpRequest) -> tuple[type, str, str | None]:
    django_request = getattr(request, "_request", request)
    fmt = django_request.GET.get(FORMAT_PARAM) if FORMAT_PARAM in django_request.META.get("QUERY_STRING", "") else None
    return view_class, django_request.META.get("HTTP_ACCEPT", ""), fmt


def known_representation(view_class: type, request: HttpRequest) -> str | None:
    """The format DRF negotiated for such a request before, or None."""
    return _NEGOTIATED.get(_negotiation_key(view_class, request))


def learn_representation(view_class: type, request: HttpRequest) -> str:
    """After content negotiation: the format, remembered for the public path."""
    representation = negotiated(request)[0]
    key = _negotiation_key(view_class, request)
    if _NEGOTIATED.get(key) != representation:
        if len(_NEGOTIATED) >= _NEGOTIATED_MAX:
            _NEGOTIATED.clear()
        _NEGOTIATED[key] = representation
    return representation


def full_path_validators(
    request: HttpRequest, read: Read, *, viewer: str = "public", representation: str | None = None
) -> tuple[Validators, bool]:
    """The full path's validators, and whether a kept body may still answer
    (False when `public_answer` has just looked and found none)."""
    django_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    known = getattr(django_request, "_public_validators", None)
    if known is not None and viewer == "public":
        return known, False
    return read.validators(request, viewer=viewer, representation=representation), True


def full_answer(
    request: HttpRequest,
    build: Callable[[], HttpResponseBase],
    read: Read,
    *,
    viewer: str = "public",
    representation: str | None = None,
) -> HttpResponseBase:
    """The full path: the validators (computed after authentication, so an
    editor's differ), then a 304 for a current copy, else a kept body, else
    the view's answer, stamped and kept when it is a 200. A response still to
    be rendered (DRF's, after content negotiation) is kept once rendered."""
    validators, may_be_kept = full_path_validators(request, read, viewer=viewer, representation=representation)
    if not validators.keep:
        may_be_kept = False
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
