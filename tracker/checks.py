"""System checks for delivery settings (`manage.py check`; a Celery worker
runs them at start-up and refuses to start on an error, see config/celery.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

TAG = "tracker"


@register(TAG)
def claim_timeout_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Between two renewals a running batch's claims age by at most a quarter
    of TRACKER_CLAIM_TIMEOUT plus one connection and one message (each bounded
    by EMAIL_TIMEOUT); that must fit in half the timeout, leaving the other
    half for a slow server, or the sweeper could release a live batch's rows."""
    timeout, email_timeout = settings.TRACKER_CLAIM_TIMEOUT, settings.EMAIL_TIMEOUT
    if timeout / 4 + 2 * email_timeout <= timeout / 2:
        return []
    return [
        Error(
            f"TRACKER_CLAIM_TIMEOUT must be at least 8 x EMAIL_TIMEOUT = {8 * email_timeout} s, got {timeout}: "
            "a running batch could lose its claims between two renewals.",
            hint="Raise TRACKER_CLAIM_TIMEOUT or lower EMAIL_TIMEOUT.",
            id="tracker.E001",
        )
    ]


@register(TAG)
def heartbeat_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A live worker must beat at least three times within the timeout, or a
    slow beat alone could make the sweeper release its claims."""
    interval, timeout = settings.TRACKER_HEARTBEAT_INTERVAL, settings.TRACKER_HEARTBEAT_TIMEOUT
    if 3 * interval <= timeout:
        return []
    return [
        Error(
            f"TRACKER_HEARTBEAT_TIMEOUT must be at least 3 x TRACKER_HEARTBEAT_INTERVAL = {3 * interval} s, "
            f"got {timeout}: a live worker's claims could be released between two of its beats.",
            hint="Raise TRACKER_HEARTBEAT_TIMEOUT or lower TRACKER_HEARTBEAT_INTERVAL.",
            id="tracker.E002",
        )
    ]
