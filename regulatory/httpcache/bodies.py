"""Rendered 200 bodies kept under their ETag: in each process's memory (a
bounded LRU) in front of Redis (shared by the processes)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseBase
from redis.exceptions import RedisError

from regulatory.httpcache.validators import Validators, stamp_new

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


def kept_body(validators: Validators) -> Kept | None:
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


def from_kept(kept: Kept, validators: Validators) -> HttpResponse:
    content, content_type, disposition = kept
    response = HttpResponse(content, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    return stamp_new(response, validators)


def cached_response(validators: Validators) -> HttpResponse | None:
    if not settings.RESPONSE_CACHE_SECONDS:
        return None
    kept = kept_body(validators)
    return None if kept is None else from_kept(kept, validators)


def remember(response: HttpResponseBase, validators: Validators) -> None:
    """Keep a rendered 200 body for the next reader with the same validators."""
    if (
        not settings.RESPONSE_CACHE_SECONDS
        or response.status_code != 200
        or response.streaming
        or not isinstance(response, HttpResponse)
        or len(response.content) > _BODY_MAX_BYTES
    ):
        return
    kept = (response.content, response["Content-Type"], response.get("Content-Disposition", ""))
    key = _BODY_PREFIX + validators.etag
    local_bodies.put(key, kept, settings.RESPONSE_CACHE_SECONDS)
    try:
        cache.set(key, kept, settings.RESPONSE_CACHE_SECONDS)
    except (RedisError, OSError):
        pass
