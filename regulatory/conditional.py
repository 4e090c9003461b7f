"""Conditional GET for the read endpoints: ETag and Last-Modified, 304.

The validator comes from the record version (`version.current()`): on
PostgreSQL it is kept in process memory and dropped by LISTEN/NOTIFY when a
write commits, so a client that already holds the current answer costs no
query at all; where it cannot be kept (SQLite, the LISTEN connection down,
an editor reading) it is `selectors.record_version()`, one cheap query run
before the expensive one. The ETag covers everything the body depends on:
the record's version, the full path with its query string, the negotiated
format (Accept), whether the reader is an editor (editors see drafts), and
today's date for answers that depend on it (status as of today, upcoming
dates).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from redis.exceptions import RedisError

from regulatory import version


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: dt.datetime | None
    private: bool


def validators_for(request: HttpRequest, *, viewer: str = "public", today: dt.date | None = None) -> Validators:
    """Compute the validators of the answer to `request` (at most one query;
    none while the process holds the current record version). Editors'
    validators always come from the query: they see their own writes at once."""
    record = version.current(fresh=viewer != "public")
    parts = [
        record.key,
        request.get_full_path(),
        request.META.get("HTTP_ACCEPT", ""),
        viewer,
        today.isoformat() if today else "",
    ]
    etag = '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40] + '"'
    last_modified = record.last_modified
    if today is not None:
        # The answer changes at midnight without any write: a client holding
        # yesterday's copy must not get a 304 from If-Modified-Since.
        midnight = dt.datetime.combine(today, dt.time.min, tzinfo=dt.timezone.utc)
        last_modified = max(last_modified, midnight) if last_modified else midnight
    return Validators(etag=etag, last_modified=last_modified, private=viewer != "public")


def not_modified(request: HttpRequest, validators: Validators) -> HttpResponseBase | None:
    """A 304 (or 412) when the client's copy is current, else None."""
    timestamp = int(validators.last_modified.timestamp()) if validators.last_modified else None
    response = get_conditional_response(request, etag=validators.etag, last_modified=timestamp)
    if response is not None:
        stamp(response, validators)
    return response


def stamp(response: HttpResponseBase, validators: Validators) -> HttpResponseBase:
    """Put the validators and the caching rules on a response."""
    response["ETag"] = validators.etag
    if validators.last_modified is not None:
        response["Last-Modified"] = http_date(validators.last_modified.timestamp())
    # Caches may keep a copy but must revalidate it every time; an editor's
    # answer (which may show drafts) is for that editor only.
    if validators.private:
        patch_cache_control(response, no_cache=True, private=True)
    else:
        patch_cache_control(response, no_cache=True, public=True)
    patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
    return response


# The body of a 200 answer, kept under its ETag. The ETag names everything the
# body depends on (record version, full path, format, viewer, today), so a
# kept body is never stale: any write moves the version and so the key. A warm
# read then costs the validator query and one cache GET.
_BODY_PREFIX = "body:"
_BODY_MAX_BYTES = 8 * 1024 * 1024


def cached_response(validators: Validators) -> HttpResponse | None:
    if not settings.RESPONSE_CACHE_SECONDS:
        return None
    try:
        kept = cache.get(_BODY_PREFIX + validators.etag)
    except (RedisError, OSError):
        return None  # Redis is a speed-up here, never a dependency
    if kept is None:
        return None
    content, content_type, disposition = kept
    response = HttpResponse(content, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    return stamp(response, validators)


def remember(response: HttpResponseBase, validators: Validators) -> None:
    """Keep a rendered 200 body for the next reader with the same validators."""
    if (not settings.RESPONSE_CACHE_SECONDS or response.status_code != 200 or response.streaming
            or len(response.content) > _BODY_MAX_BYTES):
        return
    kept = (response.content, response["Content-Type"], response.get("Content-Disposition", ""))
    try:
        cache.set(_BODY_PREFIX + validators.etag, kept, settings.RESPONSE_CACHE_SECONDS)
    except (RedisError, OSError):
        pass


def conditional_view(*, depends_on_today: bool = False, anonymous_only: bool = False) -> Callable:
    """Decorator for function views (feeds, exports, pages): 304 for a current
    copy, else the kept body, else the view. With `anonymous_only` (pages that
    show signed-in users something of their own), signed-in readers always get
    a fresh page."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD") or (anonymous_only and request.user.is_authenticated):
                return view(request, *args, **kwargs)
            validators = validators_for(request, today=timezone.localdate() if depends_on_today else None)
            response = not_modified(request, validators) or cached_response(validators)
            if response is not None:
                return response
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                stamp(response, validators)
                remember(response, validators)
            return response

        return wrapper

    return decorator
