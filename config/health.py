"""/healthz: is the database answering, is the broker reachable, is at least
one Celery worker answering through the broker? 503 when any one is not."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

WORKER_PING_TIMEOUT = 3.0


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; report its class only
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    import redis

    started = time.monotonic()
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_workers() -> dict:
    from config.celery import app

    try:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT)
    except Exception as exc:
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
    except Exception as exc:  # the database check reports the outage
        return {"error": type(exc).__name__}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks["workers"] = _check_workers() if checks["broker"]["ok"] else {"ok": False, "workers": [], "error": "broker down"}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks, "watched_sources": _watched_sources()},
                        status=200 if ok else 503)
