"""Reads for the watchers: what is due, what the record already cites, what
is failing."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db.models import Q, QuerySet

from regulatory.models import ProgrammeSource, Source
from watch.models import WatchedSource


def url_key(url: str) -> str:
    """A URL as compared for "the same item": scheme, a leading www., letter
    case of the host, a trailing slash and the fragment do not matter."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", host + port, path, parts.query, "")).lstrip("/")


def cited_url_keys() -> set[str]:
    """Every URL a decision (any state) or a programme cites: an item there is
    already on the record, or in a draft."""
    urls = [*Source.objects.values_list("url", flat=True), *ProgrammeSource.objects.values_list("url", flat=True)]
    return {url_key(url) for url in urls}


def sources_due(*, now: dt.datetime) -> QuerySet[WatchedSource]:
    return WatchedSource.objects.filter(enabled=True).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)).order_by("name")


def sources_flagged(*, now: dt.datetime) -> QuerySet[WatchedSource]:
    """Enabled sources that have failed, without a success, for WATCH_FLAG_AFTER."""
    since = now - dt.timedelta(seconds=settings.WATCH_FLAG_AFTER)
    return WatchedSource.objects.filter(enabled=True, failing_since__lte=since).order_by("name")
