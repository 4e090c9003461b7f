"""Rendered 200 bodies kept under their ETag: in each process's memory (a
bounded LRU) in front of Redis (shared by the processes)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

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
#
# Redis is also the Celery broker and the rate limiter's store, so what is
# kept there is bounded whatever the readers ask for: only requests made of
# parameters the view reads are kept at all (`Validators.keep`), no body
# larger than RESPONSE_CACHE_ITEM_BYTES, and the kept bodies together hold at
# most RESPONSE_CACHE_MAX_BYTES in at most RESPONSE_CACHE_MAX_ENTRIES keys:
# an index (a sorted set of the body keys by expiry, and a hash of their
# sizes with the total under "") is kept with them, and each write drops the
# expired entries and then the oldest until both bounds hold. One script, so
# the bodies and the index change together.
_BODY_PREFIX = "body:"
_INDEX_KEY, _SIZES_KEY = "body-index", "body-sizes"
_KEEP_SCRIPT = """
local index, sizes = KEYS[2], KEYS[3]
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[2])
local max_bytes, max_entries = tonumber(ARGV[4]), tonumber(ARGV[5])
local function forget(key)
  local size = tonumber(redis.call('HGET', sizes, key) or '0')
  if redis.call('HDEL', sizes, key) == 1 then redis.call('HINCRBY', sizes, '', -size) end
  redis.call('ZREM', index, key)
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 256)) do forget(key) end
forget(KEYS[1])
local size = string.len(ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('ZADD', index, now + ttl, KEYS[1])
redis.call('HSET', sizes, KEYS[1], size)
local total = redis.call('HINCRBY', sizes, '', size)
while total > max_bytes or redis.call('ZCARD', index) > max_entries do
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  if not oldest then break end
  redis.call('DEL', oldest)
  forget(oldest)
  total = tonumber(redis.call('HGET', sizes, '') or '0')
end
redis.call('EXPIRE', index, ttl)
redis.call('EXPIRE', sizes, ttl)
return total
"""

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
        or not validators.keep
        or response.status_code != 200
        or response.streaming
        or not isinstance(response, HttpResponse)
        or len(response.content) > settings.RESPONSE_CACHE_ITEM_BYTES
    ):
        return
    kept = (response.content, response["Content-Type"], response.get("Content-Disposition", ""))
    key = _BODY_PREFIX + validators.etag
    local_bodies.put(key, kept, settings.RESPONSE_CACHE_SECONDS)
    try:
        keep_in_redis(key, kept)
    except (RedisError, OSError):
        pass


_script: Any = None


def keep_in_redis(key: str, kept: Kept) -> None:
    """Store a body in Redis within the bounds (see the top of this module).
    Through django's Redis cache client, so that `cache.get` reads it back."""
    backend = cache._cache  # type: ignore[attr-defined]  # django's RedisCacheClient: client, serializer
    client = backend.get_client(key, write=True)
    global _script
    if _script is None:
        _script = client.register_script(_KEEP_SCRIPT)  # EVALSHA, loaded again by any client that lacks it
    _script(
        keys=[cache.make_and_validate_key(key), cache.make_key(_INDEX_KEY), cache.make_key(_SIZES_KEY)],
        args=[
            backend._serializer.dumps(kept),
            settings.RESPONSE_CACHE_SECONDS,
            time.time(),
            settings.RESPONSE_CACHE_MAX_BYTES,
            settings.RESPONSE_CACHE_MAX_ENTRIES,
        ],
        client=client,
    )


def kept_count() -> tuple[int, int]:
    """How many bodies Redis keeps, and their bytes (tests, operators)."""
    client = cache._cache.get_client(write=False)  # type: ignore[attr-defined]
    total = client.hget(cache.make_key(_SIZES_KEY), "")
    return client.zcard(cache.make_key(_INDEX_KEY)), int(total or 0)
