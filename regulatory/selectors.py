"""Reads of the regulatory record. Each function runs a fixed number of
queries whatever the size of the data."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from regulatory.dates import is_ahead
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


# --- API, feeds and exports ---------------------------------------------------
# Appended for regulatory/api, feeds.py and exports.py. Like the functions
# above, each runs a fixed number of queries whatever the size of the data.


@dataclass(frozen=True)
class RecordVersion:
    """A cheap fingerprint of everything the read endpoints show."""

    key: str
    last_modified: dt.datetime | None


def _versioned_models() -> list:
    from regulatory.models import AccessProgramme, ProgrammeSource, Regulator, Source

    # Every save and delete of these writes a simple_history row, so the
    # highest history id changes whenever a draft, a source or a reference
    # row changes; publishes, amendments and retractions also append a Change.
    return [Decision, Source, Jurisdiction, Regulator, Therapy, AccessProgramme, ProgrammeSource]


@functools.cache
def _version_sql(vendor: str) -> str:
    """The validator's statement, built once: naming the history tables goes
    through simple_history's manager, which is slow to build per request."""
    from regulatory.models import Change

    quote = connection.ops.quote_name
    change_table = quote(Change._meta.db_table)
    columns = [f"(SELECT MAX(id) FROM {change_table})", f"(SELECT MAX(recorded_at) FROM {change_table})"]
    for model in _versioned_models():
        table = quote(model.history.model._meta.db_table)
        columns += [f"(SELECT MAX(history_id) FROM {table})", f"(SELECT MAX(history_date) FROM {table})"]
    return "SELECT " + ", ".join(columns)


def record_version() -> RecordVersion:
    """The validator for conditional GETs, in one query of index-only maxima.

    Runs before the expensive query of a read endpoint, so a 304 costs this
    single statement.
    """
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(connection.vendor))
        row = cursor.fetchone()
    ids, times = row[0::2], row[1::2]
    # SQLite returns text for MAX() over a datetime column: convert it back.
    converted = [_as_datetime(value) for value in times]
    known = [value for value in converted if value is not None]
    return RecordVersion(key=":".join(str(value or 0) for value in ids), last_modified=max(known) if known else None)


def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def decision_latest_recorded_at():
    """An expression: when the decision's latest Change was recorded (None for drafts)."""
    from django.db.models import OuterRef, Subquery

    from regulatory.models import Change

    # Change ids are committed in order, so the highest id is the latest record.
    return Subquery(Change.objects.filter(decision=OuterRef("pk")).order_by("-id").values("recorded_at")[:1])


def decision_list_api(*, include_drafts: bool = False) -> QuerySet[Decision]:
    """Decisions as the API, the feeds and the CSV export show them, newest
    announcement first (id breaks ties, so pages are stable), each annotated
    with `recorded_at`. Drafts only for editors."""
    base = Decision.objects.all() if include_drafts else Decision.objects.filter(state__in=PUBLIC_STATES)
    return (
        base.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources")
        .annotate(recorded_at=decision_latest_recorded_at())
        .order_by("-announced_on", "-id")
    )


def decision_get_api(*, decision_id: int, include_drafts: bool = False) -> Decision | None:
    return decision_list_api(include_drafts=include_drafts).filter(pk=decision_id).first()


def decision_list_recorded_since(queryset: QuerySet[Decision], *, since: dt.datetime) -> QuerySet[Decision]:
    """Decisions with a Change recorded at or after `since`: what a syncing client missed."""
    from django.db.models import Exists, OuterRef

    from regulatory.models import Change

    return queryset.filter(Exists(Change.objects.filter(decision=OuterRef("pk"), recorded_at__gte=since)))


def decision_list_for_therapies(queryset: QuerySet[Decision], *, therapy_ids: Iterable[int]) -> QuerySet[Decision]:
    """Decisions concerning any of the therapies, without duplicate rows."""
    from django.db.models import Exists, OuterRef

    through = Decision.therapies.through
    return queryset.filter(
        Exists(through.objects.filter(decision_id=OuterRef("pk"), therapy_id__in=list(therapy_ids)))
    )


def decision_list_search(queryset: QuerySet[Decision], *, text: str) -> QuerySet[Decision]:
    from django.db.models import Q

    return queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text))


def decision_list_feed(queryset: QuerySet[Decision] | None = None, *, limit: int = 100) -> list[Decision]:
    """Public decisions for the Atom feed (from `queryset`, a filtered
    `decision_list_api()`), most recently recorded first, at most `limit`."""
    from django.db.models import F

    if queryset is None:
        queryset = decision_list_api()
    return list(queryset.order_by(F("recorded_at").desc(nulls_last=True), "-id")[:limit])


@dataclass(frozen=True)
class StatusRow:
    jurisdiction: Jurisdiction
    therapy: Therapy
    entry: StatusEntry | None


def status_rows(*, as_of: dt.date, jurisdictions: list[Jurisdiction] | None = None,
                therapies: list[Therapy] | None = None) -> list[StatusRow]:
    """One row per (jurisdiction, therapy) pair, in matrix order, with the
    status on `as_of` or None where no published decision has set one yet.
    Three queries at most (fewer when the caller already holds the rows)."""
    if jurisdictions is None:
        jurisdictions = list(Jurisdiction.objects.order_by("position", "code"))
    if therapies is None:
        therapies = list(Therapy.objects.order_by("position", "slug"))
    matrix = status_matrix(
        as_of=as_of,
        jurisdiction_ids=[j.pk for j in jurisdictions],
        therapy_ids=[t.pk for t in therapies],
    )
    return [
        StatusRow(jurisdiction=j, therapy=t, entry=matrix.get((j.pk, t.pk)))
        for j in jurisdictions
        for t in therapies
    ]


@dataclass(frozen=True)
class UpcomingDate:
    """A future effective or target date of a published decision."""

    decision: Decision
    which: str  # "effective" or "target"
    on: dt.date
    precision: str


def _not_yet_past(field: str, today: dt.date):
    """A date is upcoming until the whole period its precision names is over:
    'Aug 2025' (stored as 1 Aug) is still upcoming on 20 Aug 2025."""
    from django.db.models import Q

    from regulatory.models import Precision

    return (
        Q(**{f"{field}_precision": Precision.DAY, f"{field}_on__gte": today})
        | Q(**{f"{field}_precision": Precision.MONTH, f"{field}_on__gte": today.replace(day=1)})
        | Q(**{f"{field}_precision": Precision.YEAR, f"{field}_on__gte": today.replace(month=1, day=1)})
    )


def upcoming_dates(*, today: dt.date, jurisdiction_ids: Iterable[int] | None = None,
                   therapy_ids: Iterable[int] | None = None) -> list[UpcomingDate]:
    """Future effective and target dates of live decisions, soonest first."""
    queryset = decision_list_api().filter(state__in=LIVE_STATES).filter(
        _not_yet_past("effective", today) | _not_yet_past("target", today)
    )
    if jurisdiction_ids is not None:
        queryset = queryset.filter(jurisdiction_id__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        queryset = decision_list_for_therapies(queryset, therapy_ids=therapy_ids)
    dates: list[UpcomingDate] = []
    for decision in queryset:
        for which in ("effective", "target"):
            on, precision = getattr(decision, f"{which}_on"), getattr(decision, f"{which}_precision")
            if on is not None and is_ahead(on, precision, today):
                dates.append(UpcomingDate(decision=decision, which=which, on=on, precision=precision))
    dates.sort(key=lambda d: (d.on, d.decision.pk, d.which))
    return dates


def jurisdiction_list() -> QuerySet[Jurisdiction]:
    return Jurisdiction.objects.select_related("parent").prefetch_related("regulators").order_by("position", "code")


def therapy_list() -> QuerySet[Therapy]:
    return Therapy.objects.order_by("position", "slug")


def access_programme_list():
    from regulatory.models import AccessProgramme

    return (
        AccessProgramme.objects.select_related("jurisdiction", "regulator")
        .prefetch_related("therapies", "sources")
        .order_by("jurisdiction__position", "name", "id")
    )


def decision_page_url(decision_id: int) -> str:
    """Absolute link to the decision's public page, /decisions/<id>/."""
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("regulatory-decision", args=[decision_id])
    except NoReverseMatch:  # the HTML pages are not mounted (e.g. an API-only deployment)
        path = f"/decisions/{decision_id}/"
    return f"{settings.SITE_URL}{path}"
