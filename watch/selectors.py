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
    return (
        WatchedSource.objects.filter(enabled=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by("name")
    )


def sources_flagged(*, now: dt.datetime) -> QuerySet[WatchedSource]:
    """Enabled sources that have failed, without a success, for WATCH_FLAG_AFTER."""
    since = now - dt.timedelta(seconds=settings.WATCH_FLAG_AFTER)
    return WatchedSource.objects.filter(enabled=True, failing_since__lte=since).order_by("name")


def sources_health(*, now: dt.datetime) -> dict:
    """For /healthz details: the sources failing for a day or more. A
    failing source does not make the tracker unhealthy, so this is not a check."""
    flagged = []
    for source in sources_flagged(now=now):
        assert source.failing_since is not None  # sources_flagged filters on it
        flagged.append(
            {
                "name": source.name,
                "failing_since": source.failing_since.isoformat(),
                "last_error": source.last_error[:200],
            }
        )
    return {"flagged": flagged}


def candidate_latest_id() -> int:
    from django.db.models import Max

    from watch.models import Candidate

    return Candidate.objects.aggregate(latest=Max("pk"))["latest"] or 0


def candidate_mail_subscriptions() -> QuerySet:
    """The opt-ins of users who are editors now (active staff in the Editors
    group, or superusers) with an address: an editor who left the group
    keeps the row but gets nothing."""
    from regulatory.editors import EDITORS_GROUP
    from watch.models import CandidateMailSubscription

    return (
        CandidateMailSubscription.objects.filter(user__is_active=True, user__is_staff=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name=EDITORS_GROUP))
        .exclude(user__email="")
        .distinct()
        .order_by("pk")
    )


def candidates_for_mail(*, after_id: int, upto_id: int) -> list:
    """The candidates an email covering (after_id, upto_id] lists: those still
    waiting for review, oldest first."""
    from watch.models import Candidate, CandidateState

    return list(
        Candidate.objects.filter(pk__gt=after_id, pk__lte=upto_id, state=CandidateState.NEW)
        .select_related("source", "jurisdiction")
        .prefetch_related("therapies")
        .order_by("pk")
    )


def candidate_new_ids(*, after_id: int, upto_id: int) -> list[int]:
    from watch.models import Candidate, CandidateState

    return list(
        Candidate.objects.filter(pk__gt=after_id, pk__lte=upto_id, state=CandidateState.NEW)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
