"""Rate limits in front of the subscribe forms, and the memory of a Redis outage that lets requests skip them."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tracker.addresses import email_rate_key

# Logged under the name of the module these functions came from.
logger = logging.getLogger("tracker.services")


RATE_WINDOW_SECONDS = 3600
# What the Redis cache raises when Redis is down or does not answer in time.
# Only these are caught: any other error is a bug and must surface.
CACHE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


# --- Redis outages ------------------------------------------------------------

OUTAGE_SECONDS = 10


@dataclass
class _Outage:
    """Remembers, in this process, that a service failed a moment ago, so that
    the next requests skip it at once instead of each waiting for its timeout:
    a hung Redis would otherwise hold every subscribe request for seconds."""

    until: float = 0.0

    def active(self) -> bool:
        return time.monotonic() < self.until

    def begin(self) -> None:
        self.until = time.monotonic() + OUTAGE_SECONDS

    def end(self) -> None:
        self.until = 0.0


cache_outage = _Outage()
broker_outage = _Outage()


# --- Rate limits -------------------------------------------------------------


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int = RATE_WINDOW_SECONDS) -> int | None:
    """Count one request against a fixed window; when the count is over
    `limit`, return the seconds until the window ends (for Retry-After).

    Keys are hashed so that no address or IP is stored in the cache.

    Fails open: when the cache (Redis) is unreachable the request is let
    through, with a warning in the log. The limit only guards against
    floods; a request that passes it costs one pending row and at most one
    confirmation email (double opt-in), whereas failing closed would turn a
    Redis outage into an outage of subscribing (a 500 on every request)."""
    now = int(time.time())
    bucket = now // window
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"tracker:rate:{digest}:{bucket}"
    if cache_outage.active():
        logger.warning("Rate limit %r not applied, the cache was unavailable moments ago", scope)
        return None
    try:
        count = _rate_count(cache_key, window)
    except CACHE_UNAVAILABLE as exc:
        cache_outage.begin()
        logger.warning("Rate limit %r not applied, the cache is unavailable: %s", scope, exc)
        return None
    if count > limit:
        return window - (now % window)
    return None


def address_rate_limit_hit(*, email: str) -> int | None:
    """The per-address subscribe limit for a normalised address (see
    email_validate): every variant of one mailbox counts against one key."""
    return rate_limit_hit(
        scope="subscribe-address", key=email_rate_key(email), limit=settings.SUBSCRIBE_RATE_PER_ADDRESS
    )


def _rate_count(cache_key: str, window: int) -> int:
    if cache.add(cache_key, 1, timeout=window):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window)
        return 1


def client_address(meta: dict) -> str:
    """The client's IP: REMOTE_ADDR, or behind a trusted proxy the address the
    proxy appended last to X-Forwarded-For (earlier entries are client-controlled)."""
    if settings.TRACKER_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return meta.get("REMOTE_ADDR", "") or "unknown"
