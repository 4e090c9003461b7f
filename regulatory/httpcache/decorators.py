"""`cached_read`: the one decorator that makes a read conditional and kept,
for function views (pages, feeds, exports) and DRF views (the API) alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from rest_framework.compat import split_header_value  # type: ignore[attr-defined]  # there, but not in the stubs

from regulatory.httpcache import answers
from regulatory.httpcache.answers import FORMAT_PARAM, Read
from regulatory.httpcache.validators import STAMPED_VARY
from regulatory.selectors import RecordVersion

Target = TypeVar("Target", bound=Callable[..., Any])


def cached_read(
    *,
    depends_on_today: bool = False,
    anonymous_only: bool = False,
    params: Iterable[Any] | None = None,
    source: Callable[[], RecordVersion] | None = None,
) -> Callable[[Target], Target]:
    """Answer GET and HEAD with a 304 for a current copy, else a kept body,
    else the view (whose 200 is then kept). Public readers (no credentials)
    are answered before the user lookup, and for a DRF view before its
    request wrapping, authentication and content negotiation.

    `depends_on_today`: the answer changes at midnight (status as of today,
    upcoming dates), so the validators name the date.
    `anonymous_only` (function views): signed-in readers always get a fresh
    page, for pages that show them something of their own.
    `params`: the query parameters the view reads, as names, forms (their
    fields and `extra_params`) or filter sets (their filters and their
    form's `extra_params`). A request with any other parameter is answered,
    with an honest ETag, but its body is not kept: junk parameters cannot
    fill the cache. By default a function view reads none, and a DRF view
    what its filter set, pagination and `?format=` read.
    `source`: the version the validators are made of, when it is not the
    record's (e.g. `code_version` for the schema, which changes on deploy).

    On a function view it wraps the view. On a DRF view class it wraps the
    class's `get` and `dispatch`; the class may define
    `cache_viewer(request) -> str`, asked after authentication: any answer
    but "public" (e.g. "editor", who sees drafts) gets validators of its own
    and is private to that reader."""

    def decorate(target: Target) -> Target:
        names = params if params is not None else (_api_params(target) if isinstance(target, type) else ())
        read = Read(depends_on_today=depends_on_today, params=read_params(*names), source=source)
        if isinstance(target, type):
            return _api_view(target, read=read)  # type: ignore[return-value]
        return _function_view(target, read=read, anonymous_only=anonymous_only)

    return decorate


def read_params(*parts: Any) -> frozenset[str]:
    """Query parameter names from names, forms and filter sets."""
    names: set[str] = set()
    for part in parts:
        if isinstance(part, str):
            names.add(part)
        elif hasattr(part, "base_filters"):  # a django-filter FilterSet
            names |= set(part.base_filters)
            names |= set(getattr(part._meta.form, "extra_params", ()))
        elif hasattr(part, "base_fields"):  # a Django form
            names |= set(part.base_fields)
            names |= set(getattr(part, "extra_params", ()))
        else:
            names |= set(part)
    return frozenset(names)


def _api_params(cls: type) -> tuple[Any, ...]:
    """What a DRF view reads by default: its filter set's parameters (when it
    filters), its pagination's and `?format=`."""
    parts: list[Any] = [FORMAT_PARAM]
    filterset = getattr(cls, "filterset_class", None)
    if getattr(cls, "filter_backends", None) and filterset is not None:
        parts.append(filterset)
    pagination = getattr(cls, "pagination_class", None)
    if pagination is not None:
        parts += [
            name
            for name in (
                getattr(pagination, "page_query_param", None),
                getattr(pagination, "page_size_query_param", None),
            )
            if name
        ]
    return tuple(parts)


def _function_view(view: Target, *, read: Read, anonymous_only: bool) -> Target:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        response = answers.public_answer(request, read=read)
        if response is not None:
            return response
        if anonymous_only and request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return answers.full_answer(request, lambda: view(request, *args, **kwargs), read)

    return wrapper  # type: ignore[return-value]


def _api_view(cls: type[Any], *, read: Read) -> type[Any]:
    # A parent decorated already: wrap what it wrapped, not its wrappers.
    get = cls.get.__wrapped__ if getattr(cls.get, "cached_read", False) else cls.get
    drf_dispatch = cls.dispatch.__wrapped__ if getattr(cls.dispatch, "cached_read", False) else cls.dispatch

    @wraps(get)
    def cached_get(self: Any, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        viewer = self.cache_viewer(request) if hasattr(self, "cache_viewer") else "public"
        # After content negotiation: the format, learnt for the public path.
        representation = answers.learn_representation(type(self), request)
        return answers.full_answer(
            request,
            lambda: get(self, request, *args, **kwargs),
            read,
            viewer=viewer,
            representation=representation,
        )

    @wraps(drf_dispatch)
    def dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """A public reader's 304 or kept body, before DRF's request wrapping,
        authentication and content negotiation (see answers.public_answer),
        for an Accept header DRF has negotiated before, with the headers DRF
        would add (Allow, Vary); anything else goes through DRF unchanged."""
        if request.method in ("GET", "HEAD"):
            representation = answers.known_representation(type(self), request)
            response = answers.public_answer(request, read=read, representation=representation)
            if response is not None:
                self.args, self.kwargs, self.request = args, kwargs, request
                # As DRF's finalize_response: its default headers, Vary merged.
                for key, value in _drf_default_headers(self):
                    if key == "Vary":
                        patch_vary_headers(response, [value])
                    else:
                        response[key] = value
                return response
        return drf_dispatch(self, request, *args, **kwargs)

    cached_get.cached_read = dispatch.cached_read = True  # type: ignore[attr-defined]
    cls.get = cached_get
    cls.dispatch = dispatch
    return cls


_DRF_DEFAULT_HEADERS: dict[type, tuple[tuple[str, str], ...]] = {}


def _drf_default_headers(view: Any) -> tuple[tuple[str, str], ...]:
    """DRF's default_response_headers (Allow; Vary: Accept), the same for
    every instance of a class once set up: worked out once per class. A
    Vary already named by `stamp` is left out."""
    headers = _DRF_DEFAULT_HEADERS.get(type(view))
    if headers is None:
        found: list[tuple[str, str]] = []
        for key, value in view.default_response_headers.items():
            if key == "Vary":
                found += [("Vary", name) for name in split_header_value(value) if name.lower() not in STAMPED_VARY]
            else:
                found.append((key, value))
        headers = _DRF_DEFAULT_HEADERS[type(view)] = tuple(found)
    return headers
