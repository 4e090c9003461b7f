"""/healthz: is the database answering, is the broker reachable, is at least
one Celery worker answering through the broker? 503 when any one is not.

The worker ping waits WORKER_PING_TIMEOUT seconds for replies, so the checks
are never run per request: one result is kept for HEALTHZ_CACHE_SECONDS, in
this process and in the cache (shared by the web processes), and only one
caller at a time runs them (a lock in the process, and one in the cache for
the other processes); the others answer from the last result, or wait for
the one being worked out when there is none yet. A flood of calls costs one
ping every few seconds, not a web worker each.

Anonymous callers get the status code and a one-word status; the details
(worker node names, database vendor and timings) are for staff and for
callers presenting HEALTHZ_TOKEN (`Authorization: Bearer ...`,
`X-Healthz-Token: ...` or `?token=...`).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Any, TypeGuard

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

WORKER_PING_TIMEOUT = 3.0
# A result older than this is not shown even to callers who would otherwise
# wait for a fresh one: a check that never completes must not hide an outage.
MAX_STALE_SECONDS = 60.0
_CACHE_KEY = "healthz:result"
_LOCK_KEY = "healthz:lock"

_lock = threading.Lock()
_last: tuple[float, dict] | None = None  # (time.time() when checked, result)


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any driver error means "down"; report its class only
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    import redis

    started = time.monotonic()
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any client error means "down"; report its class only
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_workers() -> dict:
    from config.celery import app

    try:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - kombu or redis, any error means no worker answered
        return {"ok": False, "workers": [], "error": type(exc).__name__}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": False, "workers": [], "error": f"no worker answered within {WORKER_PING_TIMEOUT:g}s"}
    return {"ok": True, "workers": names}


def _watched_sources() -> dict:
    """Watched sources failing for a day: a detail for operators, not a check
    (a feed that is down does not make the tracker unhealthy)."""
    from django.utils import timezone

    from watch.selectors import sources_health

    try:
        return sources_health(now=timezone.now())
    except Exception as exc:  # noqa: BLE001 - a detail only: the database check reports the outage
        return {"error": type(exc).__name__}


def health_check() -> dict:
    """Run the checks now (seconds: the worker ping waits for replies)."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks["workers"] = (
        _check_workers() if checks["broker"]["ok"] else {"ok": False, "workers": [], "error": "broker down"}
    )
    ok = all(check["ok"] for check in checks.values())
    return {"status": "ok" if ok else "degraded", "checks": checks}


def _shared_get() -> tuple[float, dict] | None:
    try:
        return cache.get(_CACHE_KEY)
    except Exception:  # noqa: BLE001 - the cache is Redis: down or hung, the checks will say so
        return None


def _shared_put(entry: tuple[float, dict]) -> None:
    try:
        cache.set(_CACHE_KEY, entry, settings.HEALTHZ_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is down: the result is just not shared
        pass


def _shared_claim() -> bool:
    """Whether this process may run the checks now: no other process is
    running them. Without the cache there is nobody to agree with: yes."""
    try:
        return bool(cache.add(_LOCK_KEY, 1, int(WORKER_PING_TIMEOUT) + 5))
    except Exception:  # noqa: BLE001 - no cache, nobody to agree with: run the checks
        return True


def _shared_release() -> None:
    try:
        cache.delete(_LOCK_KEY)
    except Exception:  # noqa: BLE001 - the lock expires by itself
        pass


def _fresh(entry: tuple[float, dict] | None, max_age: float) -> TypeGuard[tuple[float, dict]]:
    return entry is not None and time.time() - entry[0] < max_age


def health_result() -> tuple[float, dict]:
    """The latest result of the checks, run again only when it is older than
    HEALTHZ_CACHE_SECONDS and nobody else is running them."""
    global _last
    ttl = settings.HEALTHZ_CACHE_SECONDS
    if _fresh(_last, ttl):
        return _last
    shared = _shared_get()
    if _fresh(shared, ttl):
        _last = shared
        return shared
    # Stale or none: one caller runs the checks; the others answer from the
    # last result meanwhile, or, with none worth showing, wait for that caller.
    known = max((e for e in (_last, shared) if e is not None), key=lambda e: e[0], default=None)
    if not _lock.acquire(blocking=not _fresh(known, MAX_STALE_SECONDS)):
        assert known is not None  # it waits for the lock unless the last result is worth showing
        return known
    try:
        if _fresh(_last, ttl):  # worked out while this thread waited for the lock
            return _last
        claimed = _shared_claim()
        if not claimed:
            # Another process is running the checks: answer from the last
            # result, or wait for that process's (running them here after all
            # if it never lands).
            if _fresh(known, MAX_STALE_SECONDS):
                return known
            deadline = time.monotonic() + WORKER_PING_TIMEOUT + 3
            while time.monotonic() < deadline:
                entry = _shared_get()
                if _fresh(entry, ttl):
                    _last = entry
                    return entry
                time.sleep(0.1)
        try:
            entry = (time.time(), health_check())
        finally:
            if claimed:
                _shared_release()
        _last = entry
        _shared_put(entry)
        return entry
    finally:
        _lock.release()


def reset() -> None:
    """Forget the kept result (tests)."""
    global _last
    _last = None
    try:
        cache.delete_many([_CACHE_KEY, _LOCK_KEY])
    except Exception:  # noqa: BLE001 - nothing kept in a cache that is down
        pass


def may_see_details(request: HttpRequest) -> bool:
    try:
        user = getattr(request, "user", None)
        if user is not None and user.is_active and user.is_staff:
            return True
    except Exception:  # noqa: BLE001 - the session or user lookup needs the database, which may be down
        pass
    expected = settings.HEALTHZ_TOKEN
    if not expected:
        return False
    authorization = request.headers.get("Authorization", "")
    offered = (
        request.headers.get("X-Healthz-Token")
        or (authorization[7:].strip() if authorization[:7].lower() == "bearer " else "")
        or request.GET.get("token", "")
    )
    return bool(offered) and hmac.compare_digest(offered.encode(), expected.encode())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checked_at, result = health_result()
    status = 200 if result["status"] == "ok" else 503
    body: dict[str, Any] = {"status": result["status"]}
    if may_see_details(request):
        body["checks"] = result["checks"]
        body["checked_seconds_ago"] = round(max(0.0, time.time() - checked_at), 1)
        body["watched_sources"] = _watched_sources()
    return JsonResponse(body, status=status)
