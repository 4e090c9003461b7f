"""Conditional GET for the read endpoints: ETag and Last-Modified, 304.

The validator comes from the record version (`version.current()`): on
PostgreSQL it is kept in process memory and dropped by LISTEN/NOTIFY when a
write commits, so a client that already holds the current answer costs no
query at all; where it cannot be kept (SQLite, the LISTEN connection down,
an editor reading) it is `selectors.record_version()`, one cheap query run
before the expensive one. The ETag covers everything the body depends on:
the record's version, the absolute URL (scheme, host, path and query: paginated
answers and feeds carry absolute links), the Accept header
as sent (so the negotiated format), whether the reader is an editor (editors
see drafts), and today's date for answers that depend on it (status as of
today, upcoming dates).

A 200 body is kept under its ETag, in this process (a bounded LRU) and in
Redis (shared by the processes); a kept body is never stale, because any
write moves the version and so the key.

Public readers (no Authorization header, no session cookie) of GET and HEAD
are answered before anything else runs (`public_answer`): before DRF's
authentication and content negotiation for the API, before the user lookup
for pages. They get the 304 or a kept body, with the same headers as the
full path; anything else (a first build, editors, errors) takes the full path.
A kept body or a matching ETag exists only for an Accept header that DRF has
accepted once, since both name it, so skipping negotiation never answers a
request that DRF would refuse with 406.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, parse_etags

from redis.exceptions import RedisError

from regulatory import version


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: dt.datetime | None
    private: bool


_TODAY: tuple[int, dt.date] | None = None


def _today() -> dt.date:
    """timezone.localdate(), worked out once a second: the date cannot change
    within a second (time zone offsets are whole seconds)."""
    global _TODAY
    second = int(time.time())
    known = _TODAY
    if known is None or known[0] != second:
        known = _TODAY = (second, timezone.localdate())
    return known[1]


# Validators by what they are made of, so that a repeated read costs a dict
# lookup instead of a hash; bounded by clearing.
_VALIDATORS: dict[tuple, Validators] = {}
_VALIDATORS_MAX = 4096


def validators_for(request: HttpRequest, *, viewer: str = "public", today: dt.date | None = None) -> Validators:
    """Compute the validators of the answer to `request` (at most one query;
    none while the process holds the current record version). Editors'
    validators always come from the query: they see their own writes at once."""
    record = version.current(fresh=viewer != "public")
    # The absolute URL, not just the path: paginated answers and feeds carry
    # absolute links, so a body built for one Host or scheme is not another's.
    made_of = (record, request.build_absolute_uri(), request.META.get("HTTP_ACCEPT", ""), viewer, today)
    validators = _VALIDATORS.get(made_of)
    if validators is None:
        validators = _validators(*made_of)
        if len(_VALIDATORS) >= _VALIDATORS_MAX:
            _VALIDATORS.clear()
        _VALIDATORS[made_of] = validators
    return validators


def _validators(record: version.RecordVersion, url: str, accept: str, viewer: str,
                today: dt.date | None) -> Validators:
    parts = [record.key, url, accept, viewer, today.isoformat() if today else ""]
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
    patch_vary_headers(response, STAMPED_VARY_HEADERS)
    return response


STAMPED_VARY_HEADERS = ("Accept", "Authorization", "Cookie")
STAMPED_VARY = {name.lower() for name in STAMPED_VARY_HEADERS}


# Headers of the responses built here (304s, kept bodies): what `stamp` puts on
# a response that has none of them yet, worked out once per validators.
_STAMPED: dict[Validators, tuple[tuple[str, str], ...]] = {}
_STAMPED_MAX = 4096


def _stamp_new(response: HttpResponseBase, validators: Validators) -> HttpResponseBase:
    """`stamp` for a response built here, which has no caching headers yet."""
    headers = _STAMPED.get(validators)
    if headers is None:
        probe = stamp(HttpResponseNotModified(), validators)
        headers = tuple((name, probe[name]) for name in ("ETag", "Last-Modified", "Cache-Control", "Vary")
                        if probe.has_header(name))
        if len(_STAMPED) >= _STAMPED_MAX:
            _STAMPED.clear()
        _STAMPED[validators] = headers
    for name, value in headers:
        response.headers[name] = value
    return response


def _public_not_modified(request: HttpRequest, validators: Validators) -> HttpResponseBase | None:
    """`not_modified` for a GET or HEAD whose If-None-Match names the ETag:
    the 304 straight away unless other preconditions need Django's full rules."""
    meta = request.META
    if "HTTP_IF_MATCH" in meta or "HTTP_IF_UNMODIFIED_SINCE" in meta:
        return not_modified(request, validators)
    # As django.utils.cache._if_none_match_passes compares: weakly.
    sent = meta["HTTP_IF_NONE_MATCH"]
    if sent == validators.etag or validators.etag.strip("W/") in (etag.strip("W/") for etag in parse_etags(sent)):
        return _stamp_new(HttpResponseNotModified(), validators)
    return None


# The body of a 200 answer, kept under its ETag. The ETag names everything the
# body depends on (record version, absolute URL, format, viewer, today), so a
# kept body is never stale: any write moves the version and so the key. Kept
# in Redis for all processes, and in front of it in each process's memory
# (bounded in bytes; large bodies only in Redis), for the same time.
_BODY_PREFIX = "body:"
_BODY_MAX_BYTES = 8 * 1024 * 1024

Kept = tuple[bytes, str, str]  # content, Content-Type, Content-Disposition


class LocalBodies:
    """A least-recently-used map ETag → kept body, bounded in total bytes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[float, Kept]] = OrderedDict()
        self.size = 0

    def get(self, key: str) -> Kept | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            expires, kept = entry
            if expires <= time.monotonic():
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return kept

    def put(self, key: str, kept: Kept, seconds: int) -> None:
        length = len(kept[0])
        limit = settings.RESPONSE_CACHE_LOCAL_BYTES
        if length > settings.RESPONSE_CACHE_LOCAL_ITEM_BYTES or length > limit:
            return
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = (time.monotonic() + seconds, kept)
            self.size += length
            while self.size > limit:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: str) -> None:
        _expires, kept = self.entries.pop(key)
        self.size -= len(kept[0])

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


local_bodies = LocalBodies()


def _kept_body(validators: Validators) -> Kept | None:
    key = _BODY_PREFIX + validators.etag
    kept = local_bodies.get(key)
    if kept is not None:
        return kept
    try:
        kept = cache.get(key)
    except (RedisError, OSError):
        return None  # Redis is a speed-up here, never a dependency
    if kept is not None:
        local_bodies.put(key, kept, settings.RESPONSE_CACHE_SECONDS)
    return kept


def _from_kept(kept: Kept, validators: Validators) -> HttpResponse:
    content, content_type, disposition = kept
    response = HttpResponse(content, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    return _stamp_new(response, validators)


def cached_response(validators: Validators) -> HttpResponse | None:
    if not settings.RESPONSE_CACHE_SECONDS:
        return None
    kept = _kept_body(validators)
    return None if kept is None else _from_kept(kept, validators)


def remember(response: HttpResponseBase, validators: Validators) -> None:
    """Keep a rendered 200 body for the next reader with the same validators."""
    if (not settings.RESPONSE_CACHE_SECONDS or response.status_code != 200 or response.streaming
            or len(response.content) > _BODY_MAX_BYTES):
        return
    kept = (response.content, response["Content-Type"], response.get("Content-Disposition", ""))
    key = _BODY_PREFIX + validators.etag
    local_bodies.put(key, kept, settings.RESPONSE_CACHE_SECONDS)
    try:
        cache.set(key, kept, settings.RESPONSE_CACHE_SECONDS)
    except (RedisError, OSError):
        pass


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
    validators = validators_for(request, today=_today() if depends_on_today else None)
    if validators.etag in request.META.get("HTTP_IF_NONE_MATCH", ""):
        response = _public_not_modified(request, validators)
        if response is not None:
            return response
    kept = _kept_body(validators) if settings.RESPONSE_CACHE_SECONDS else None
    if kept is None:
        # The full path reuses these validators and knows nothing is kept:
        # a first build costs no second validator query or cache lookup.
        request._public_validators = validators
        return None
    return not_modified(request, validators) or _from_kept(kept, validators)


def full_path_validators(request: HttpRequest, *, viewer: str = "public",
                         depends_on_today: bool) -> tuple[Validators, bool]:
    """The full path's validators, and whether a kept body may still answer
    (False when `public_answer` has just looked and found none)."""
    django_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    known = getattr(django_request, "_public_validators", None)
    if known is not None and viewer == "public":
        return known, False
    return validators_for(request, viewer=viewer, today=_today() if depends_on_today else None), True


def conditional_view(*, depends_on_today: bool = False, anonymous_only: bool = False) -> Callable:
    """Decorator for function views (feeds, exports, pages): 304 for a current
    copy, else the kept body, else the view. With `anonymous_only` (pages that
    show signed-in users something of their own), signed-in readers always get
    a fresh page. Public readers (no credentials) are answered before the
    user is looked up."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            response = public_answer(request, depends_on_today=depends_on_today)
            if response is not None:
                return response
            if anonymous_only and request.user.is_authenticated:
                return view(request, *args, **kwargs)
            validators, may_be_kept = full_path_validators(request, depends_on_today=depends_on_today)
            response = not_modified(request, validators) or (cached_response(validators) if may_be_kept else None)
            if response is not None:
                return response
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                stamp(response, validators)
                remember(response, validators)
            return response

        return wrapper

    return decorator
