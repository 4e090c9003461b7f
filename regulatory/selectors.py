"""Reads of the regulatory record. Each function runs a fixed number of
queries whatever the size of the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from regulatory.models import LIVE_STATES, PUBLIC_STATES, Decision, Jurisdiction, Therapy


@dataclass(frozen=True)
class StatusEntry:
    jurisdiction_id: int
    therapy_id: int
    status: str
    since: dt.date
    since_precision: str
    decision_id: int


def _status_rows(*, as_of: dt.date, jurisdiction_ids: Iterable[int] | None, therapy_ids: Iterable[int] | None):
    through = Decision.therapies.through
    rows = through.objects.filter(
        decision__state__in=LIVE_STATES,
        decision__effective_on__lte=as_of,
    ).exclude(decision__status="")
    if jurisdiction_ids is not None:
        rows = rows.filter(decision__jurisdiction_id__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        rows = rows.filter(therapy_id__in=list(therapy_ids))
    # The latest effective decision wins; on the same day the later
    # announcement, then the later record.
    order = ["-decision__effective_on", "-decision__announced_on", "-decision_id"]
    rows = rows.values_list(
        "decision__jurisdiction_id", "therapy_id", "decision__status",
        "decision__effective_on", "decision__effective_precision", "decision_id",
    )
    if connection.vendor == "postgresql":
        return rows.order_by("decision__jurisdiction_id", "therapy_id", *order).distinct(
            "decision__jurisdiction_id", "therapy_id"
        )
    return rows.order_by(*order)


def status_matrix(*, as_of: dt.date, jurisdiction_ids: Iterable[int] | None = None,
                  therapy_ids: Iterable[int] | None = None) -> dict[tuple[int, int], StatusEntry]:
    """Status of every (jurisdiction, therapy) pair on `as_of`, in one query.

    The status on date D is set by the latest published decision whose
    effective date is on or before D. Pairs with no such decision are absent.
    """
    matrix: dict[tuple[int, int], StatusEntry] = {}
    for jid, tid, status, since, precision, decision_id in _status_rows(
        as_of=as_of, jurisdiction_ids=jurisdiction_ids, therapy_ids=therapy_ids
    ):
        matrix.setdefault((jid, tid), StatusEntry(jid, tid, status, since, precision, decision_id))
    return matrix


def status_for(*, jurisdiction: Jurisdiction, therapy: Therapy, as_of: dt.date) -> StatusEntry | None:
    """Status of one (jurisdiction, therapy) pair on `as_of`, or None."""
    return status_matrix(as_of=as_of, jurisdiction_ids=[jurisdiction.pk], therapy_ids=[therapy.pk]).get(
        (jurisdiction.pk, therapy.pk)
    )


def decision_list_public() -> QuerySet[Decision]:
    """Published (and retracted, shown as such) decisions with everything a
    list or feed shows, prefetched: a constant number of queries."""
    return (
        Decision.objects.filter(state__in=PUBLIC_STATES)
        .select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources")
    )
