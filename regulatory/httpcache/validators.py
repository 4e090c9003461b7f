"""The validators of a read (ETag, Last-Modified, public or private), the
304 answer, and the caching headers every answer carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, parse_etags
from rest_framework.utils.mediatypes import _MediaType

from regulatory.httpcache import version

# What `stamp` is given, it returns: the same response.
_Response = TypeVar("_Response", bound=HttpResponseBase)


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: dt.datetime | None
    private: bool
    # Whether the body may be kept (see `keepable`): the ETag is honest
    # either way, but only a request made of what the view reads is kept.
    keep: bool = True


_TODAY: tuple[int, dt.date] | None = None


def local_today() -> dt.date:
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


def validators_for(
    request: HttpRequest,
    *,
    viewer: str = "public",
    today: dt.date | None = None,
    representation: str | None = None,
    params: frozenset[str] | None = None,
    source: Callable[[], version.RecordVersion] | None = None,
) -> Validators:
    """Compute the validators of the answer to `request` (at most one query;
    none while the process holds the current record version). Editors'
    validators always come from the query: they see their own writes at once.

    `representation` names the format of the body: for the API, the media
    type DRF negotiated (see `negotiated`), not the Accept header as sent, so
    that any Accept answered with plain JSON shares one ETag and one kept
    body; pages, feeds and exports have one format ("") whatever the Accept.
    `params`: the query parameters the view reads; a request with any other
    is answered, and its ETag is honest (it names the whole URL), but its
    body is not kept. `source`: where the version comes from, when it is not
    the record (the schema's is the code's, see `code_version`)."""
    if representation is None:
        representation = negotiated(request)[0]
    record = source() if source is not None else version.current(fresh=viewer != "public")
    # The absolute URL, not just the path: paginated answers and feeds carry
    # absolute links, so a body built for one Host or scheme is not another's.
    # Whether the body may be kept follows from the URL, the format and the
    # parameters the view reads: worked out on a miss only, so that a
    # repeated read does not parse its query string.
    url = request.build_absolute_uri()
    made_of = (record, url, representation, viewer, today, params)
    validators = _VALIDATORS.get(made_of)
    if validators is None:
        keep = keepable(request, params, representation)
        validators = _validators(record, url, representation, viewer, today, keep=keep)
        if len(_VALIDATORS) >= _VALIDATORS_MAX:
            _VALIDATORS.clear()
        _VALIDATORS[made_of] = validators
    return validators


def keepable(request: HttpRequest, params: frozenset[str] | None, representation: str) -> bool:
    """May the body be kept: every query parameter is one the view reads
    (`params`; None: not checked), and the format is a plain one (DRF's
    renderer's own media type, or the one format of a page). Junk parameters
    and Accept values with parameters of their own are thus answered but
    never kept, and cannot fill the cache (which bounds the rest anyway,
    see `bodies`)."""
    if representation.endswith(_NOT_PLAIN):
        return False
    if params is None or not request.META.get("QUERY_STRING"):
        return True
    django_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    return all(name in params for name in django_request.GET)


_NOT_PLAIN = " (as sent)"


def negotiated(request: HttpRequest) -> tuple[str, bool]:
    """The format of the body and whether it is a plain one. For a DRF
    request after content negotiation: the renderer's media type when the
    client asked for it with no parameters but a quality (`*/*`,
    `application/json`, `application/json;q=0.9`), else the media type DRF
    accepted, as it was sent (`application/json; indent=4` reaches the
    renderer, which reads it), marked as not plain. For anything else ("")."""
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is None:
        return "", True
    accepted: str = getattr(request, "accepted_media_type", "")
    if accepted == renderer.media_type:
        return accepted, True
    parsed = _MediaType(accepted)
    if parsed.full_type == renderer.media_type and set(parsed.params) <= {"q"}:
        return renderer.media_type, True
    return accepted + _NOT_PLAIN, False


def _validators(
    record: version.RecordVersion, url: str, representation: str, viewer: str, today: dt.date | None, *, keep: bool
) -> Validators:
    parts = [record.key, url, representation, viewer, today.isoformat() if today else ""]
    etag = '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40] + '"'
    last_modified = record.last_modified
    if today is not None:
        # The answer changes at midnight without any write: a client holding
        # yesterday's copy must not get a 304 from If-Modified-Since.
        midnight = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
        last_modified = max(last_modified, midnight) if last_modified else midnight
    return Validators(etag=etag, last_modified=last_modified, private=viewer != "public", keep=keep)


def not_modified(request: HttpRequest, validators: Validators) -> HttpResponseBase | None:
    """A 304 (or 412) when the client's copy is current, else None."""
    timestamp = int(validators.last_modified.timestamp()) if validators.last_modified else None
    response = get_conditional_response(request, etag=validators.etag, last_modified=timestamp)
    if response is not None:
        stamp(response, validators)
    return response


def stamp(response: _Response, validators: Validators) -> _Response:
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


def stamp_new(response: _Response, validators: Validators) -> _Response:
    """`stamp` for a response built here, which has no caching headers yet."""
    headers = _STAMPED.get(validators)
    if headers is None:
        probe = stamp(HttpResponseNotModified(), validators)
        headers = tuple(
            (name, probe[name]) for name in ("ETag", "Last-Modified", "Cache-Control", "Vary") if probe.has_header(name)
        )
        if len(_STAMPED) >= _STAMPED_MAX:
            _STAMPED.clear()
        _STAMPED[validators] = headers
    for name, value in headers:
        response.headers[name] = value
    return response


def public_not_modified(request: HttpRequest, validators: Validators) -> HttpResponseBase | None:
    """`not_modified` for a GET or HEAD whose If-None-Match names the ETag:
    the 304 straight away unless other preconditions need Django's full rules."""
    meta = request.META
    if "HTTP_IF_MATCH" in meta or "HTTP_IF_UNMODIFIED_SINCE" in meta:
        return not_modified(request, validators)
    # As django.utils.cache._if_none_match_passes compares: weakly.
    sent = meta["HTTP_IF_NONE_MATCH"]
    if sent == validators.etag or validators.etag.strip("W/") in (etag.strip("W/") for etag in parse_etags(sent)):
        return stamp_new(HttpResponseNotModified(), validators)
    return None
