"""Reads of the regulatory record. Each function runs a fixed number of
queries whatever the size of the data."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from regulatory.dates import is_ahead, period_end
from regulatory.models import LIVE_STATES, PUBLIC_STATES, Decision, Jurisdiction, Therapy

# --- Status, in three dimensions ----------------------------------------------
#
# A cell is one (jurisdiction, therapy) pair on a date. Its three dimensions
# come from different facts and are never blurred into one word:
#   control         the latest live decision with a `control` in force on the
#                   date, else the jurisdiction's baseline for the substance;
#   approval stage  the latest live decision with an `approval_stage` in force;
#   access          the access programmes for the therapy (or its substance)
#                   opened by the date, each in its own state on that date.
# "In force on D": effective on or before D; on the same day the later
# announcement, then the later record wins.


class RouteState:
    OPEN = "open"
    CLOSED = "closed"
    CLOSED_DATE_UNKNOWN = "closed_date_unknown"
    UNKNOWN_AFTER = "unknown_after"
    PLANNED = "planned"


class CellState:
    RECORDED = "recorded"
    NO_DECISION = "no_decision"
    NOT_RESEARCHED = "not_researched"


# The headline colour. First match wins (README "Status, in three dimensions").
TONE_ORDER = (
    "approved",
    "access",
    "permitted",
    "review",
    "refused",
    "investigational",
    "prohibited",
    "uncontrolled",
    "none",
    "not_researched",
)
TONE_LABELS: dict[str, str] = {
    "approved": "Approved",
    "access": "Open access route (not capped)",
    "permitted": "Medical use permitted",
    "review": "Under review",
    "refused": "Not approved or withdrawn",
    "investigational": "Investigational",
    "prohibited": "Prohibited, no open route",
    "uncontrolled": "Not controlled",
    "none": "No decision recorded",
    "not_researched": "Not researched",
}


@dataclass(frozen=True)
class ControlInForce:
    value: str
    instrument: str
    since: dt.date | None
    since_precision: str
    decision_id: int | None = None
    baseline_id: int | None = None
    known_before: dt.date | None = None

    @property
    def label(self) -> str:
        from regulatory.models import Control

        return Control(self.value).label

    @property
    def short(self) -> str:
        """The instrument's short name: the text before the first comma."""
        return self.instrument.split(",", 1)[0].strip() or self.label

    @property
    def since_display(self) -> str:
        from regulatory.models import Precision, format_partial_date

        if self.since:
            return format_partial_date(self.since, self.since_precision)
        if self.known_before:
            return f"in force before {format_partial_date(self.known_before, Precision.DAY)}"
        return "start date unknown"


@dataclass(frozen=True)
class StageInForce:
    value: str
    since: dt.date
    since_precision: str
    decision_id: int

    @property
    def label(self) -> str:
        from regulatory.models import ApprovalStage

        return ApprovalStage(self.value).label

    @property
    def since_display(self) -> str:
        from regulatory.models import format_partial_date

        return format_partial_date(self.since, self.since_precision)


@dataclass(frozen=True)
class Route:
    programme_id: int
    slug: str
    name: str
    kind: str
    state: str
    capped: bool
    scale: str
    opened_on: dt.date | None
    opened_precision: str
    closed_on: dt.date | None
    closed_precision: str
    known_until: dt.date | None
    known_until_precision: str

    @property
    def kind_label(self) -> str:
        from regulatory.models import ProgrammeKind

        return ProgrammeKind(self.kind).label

    @property
    def state_label(self) -> str:
        from regulatory.models import format_partial_date

        if self.state == RouteState.UNKNOWN_AFTER:
            return f"unknown after {format_partial_date(self.known_until, self.known_until_precision)}"
        if self.state == RouteState.CLOSED_DATE_UNKNOWN:
            return "closed, date unknown"
        if self.state == RouteState.OPEN and self.capped:
            return "capped"
        return self.state

    @property
    def label(self) -> str:
        """'EA protocol (closed)', 'Authorised prescribers (open)'."""
        from regulatory.models import PROGRAMME_KIND_SHORT

        return f"{PROGRAMME_KIND_SHORT.get(self.kind, self.kind)} ({self.state_label})"

    @property
    def is_open_uncapped(self) -> bool:
        return self.state == RouteState.OPEN and not self.capped


@dataclass(frozen=True)
class Provenance:
    best_grade: str | None
    sources: int
    unverified: bool
    best_is_copy: bool = False

    @property
    def label(self) -> str:
        if self.best_grade is None:
            return ""
        from regulatory.models import SourceGrade

        if self.best_grade == SourceGrade.SECONDARY:
            return "secondary only"
        return f"{self.best_grade} (copy)" if self.best_is_copy else self.best_grade


@dataclass(frozen=True)
class Cell:
    jurisdiction_id: int
    therapy_id: int
    as_of: dt.date
    control: ControlInForce | None
    approval_stage: StageInForce | None
    access: tuple[Route, ...]
    covered: bool
    certain: bool
    uncertain_because: tuple[str, ...]
    provenance: Provenance
    reviewed_to: dt.date | None
    stale: bool

    @property
    def state(self) -> str:
        if self.control or self.approval_stage or self.access:
            return CellState.RECORDED
        return CellState.NO_DECISION if self.covered else CellState.NOT_RESEARCHED

    @property
    def headline(self) -> str:
        """Stage · control · routes, each part only when known:
        'Investigational · Schedule I · EA protocol (closed, date unknown)'."""
        parts = []
        if self.approval_stage and self.approval_stage.value != "none":
            parts.append(self.approval_stage.label)
        if self.control:
            parts.append(self.control.short)
        parts += [route.label for route in self.access]
        if parts:
            return " · ".join(parts)
        return "No decision recorded" if self.covered else "Not researched"

    # The API's `status` is the headline.
    status = headline

    @property
    def tone(self) -> str:
        stage = self.approval_stage.value if self.approval_stage else ""
        control = self.control.value if self.control else ""
        if stage == "approved":
            return "approved"
        if any(route.is_open_uncapped for route in self.access):
            return "access"
        if control == "medical_use_permitted":
            return "permitted"
        if stage == "under_review":
            return "review"
        if stage in ("not_approved", "withdrawn"):
            return "refused"
        if stage == "investigational":
            return "investigational"
        if control == "prohibited":
            return "prohibited"
        if control == "not_controlled":
            return "uncontrolled"
        return "none" if self.covered or self.state == CellState.RECORDED else "not_researched"

    @property
    def since(self) -> dt.date | None:
        """When the latest of the dimensions took its present value."""
        dates = [
            d
            for d in (
                self.control.since if self.control else None,
                self.approval_stage.since if self.approval_stage else None,
            )
            if d
        ]
        return max(dates, default=None)

    @property
    def decision_id(self) -> int | None:
        """The decision that set the most recent dimension (for a link)."""
        candidates = []
        if self.approval_stage:
            candidates.append((self.approval_stage.since, self.approval_stage.decision_id))
        if self.control and self.control.decision_id:
            candidates.append((self.control.since or dt.date.min, self.control.decision_id))
        return max(candidates)[1] if candidates else None


def _latest_per_pair(*, field: str, as_of: dt.date, jurisdiction_ids, therapy_ids) -> list[tuple]:
    """(jurisdiction_id, therapy_id, value, effective_on, precision,
    decision_id, instrument, verified) of the latest live decision setting
    `field` in force on `as_of`, per pair, in one query."""
    through = Decision.therapies.through
    rows = through.objects.filter(
        decision__state__in=LIVE_STATES,
        decision__effective_on__lte=as_of,
    ).exclude(**{f"decision__{field}": ""})
    if jurisdiction_ids is not None:
        rows = rows.filter(decision__jurisdiction_id__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        rows = rows.filter(therapy_id__in=list(therapy_ids))
    order = ["-decision__effective_on", "-decision__announced_on", "-decision_id"]
    rows = rows.values_list(
        "decision__jurisdiction_id",
        "therapy_id",
        f"decision__{field}",
        "decision__effective_on",
        "decision__effective_precision",
        "decision_id",
        "decision__control_instrument",
        "decision__verified",
    )
    if connection.vendor == "postgresql":
        rows = rows.order_by("decision__jurisdiction_id", "therapy_id", *order).distinct(
            "decision__jurisdiction_id", "therapy_id"
        )
    else:
        rows = rows.order_by(*order)
    latest: dict[tuple[int, int], tuple] = {}
    for row in rows:
        latest.setdefault((row[0], row[1]), row)
    return list(latest.values())


def _route_state(programme, as_of: dt.date) -> str:
    from regulatory.models import ProgrammeState

    if programme.closed_on and programme.closed_on <= as_of:
        return RouteState.CLOSED
    if programme.known_until and as_of > period_end(programme.known_until, programme.known_until_precision):
        return RouteState.UNKNOWN_AFTER
    if programme.state == ProgrammeState.CLOSED and programme.closed_on is None:
        return RouteState.CLOSED_DATE_UNKNOWN
    if programme.state == ProgrammeState.PLANNED:
        return RouteState.PLANNED
    return RouteState.OPEN


def _within(on: dt.date | None, precision: str, as_of: dt.date) -> bool:
    """Whether `as_of` falls inside the period a partial date names, where the
    fact may or may not yet have happened."""
    from regulatory.models import Precision

    return on is not None and precision != Precision.DAY and on <= as_of <= period_end(on, precision)


def cell_grid(
    *, as_of: dt.date, jurisdictions: list[Jurisdiction], therapies: list[Therapy], today: dt.date | None = None
) -> dict[tuple[int, int], Cell]:
    """Every (jurisdiction, therapy) cell on `as_of`, in a fixed number of
    queries whatever the size of the data: coverage, control, stage,
    baselines, programmes (+ their therapies) and the three source tables."""
    from django.db.models import Count
    from django.utils import timezone

    from regulatory.models import (
        NON_ROUTE_KINDS,
        AccessProgramme,
        BaselineSource,
        ControlBaseline,
        ProgrammeSource,
        Source,
    )

    today = today or timezone.localdate()
    jids, tids = [j.pk for j in jurisdictions], [t.pk for t in therapies]
    covered: dict[int, set[int]] = {}
    for jid, tid in Jurisdiction.covers_therapies.through.objects.filter(jurisdiction_id__in=jids).values_list(
        "jurisdiction_id", "therapy_id"
    ):
        covered.setdefault(jid, set()).add(tid)
    controls = {
        (r[0], r[1]): r for r in _latest_per_pair(field="control", as_of=as_of, jurisdiction_ids=jids, therapy_ids=tids)
    }
    stages = {
        (r[0], r[1]): r
        for r in _latest_per_pair(field="approval_stage", as_of=as_of, jurisdiction_ids=jids, therapy_ids=tids)
    }
    baselines: dict[tuple[int, str], ControlBaseline] = {
        (b.jurisdiction_id, b.substance.casefold()): b for b in ControlBaseline.objects.filter(jurisdiction_id__in=jids)
    }
    programmes = list(
        AccessProgramme.objects.filter(jurisdiction_id__in=jids)
        .exclude(kind__in=NON_ROUTE_KINDS)
        .filter(Q(opened_on__isnull=True) | Q(opened_on__lte=as_of))
        .prefetch_related("therapies")
        .order_by("opened_on", "id")
    )
    # Sources behind the facts in use, counted by grade, one query per table.
    decision_ids = {r[5] for r in controls.values()} | {r[5] for r in stages.values()}
    grades: dict[tuple[str, int], list[tuple[str, bool, int]]] = {}
    for kind, model, fk, ids in (
        ("decision", Source, "decision_id", decision_ids),
        ("programme", ProgrammeSource, "programme_id", [p.pk for p in programmes]),
        ("baseline", BaselineSource, "baseline_id", [b.pk for b in baselines.values()]),
    ):
        for owner, grade, is_copy, count in (
            model.objects.filter(**{f"{fk}__in": list(ids)})
            .values_list(fk, "grade", "is_copy")
            .annotate(n=Count("id"))
            .order_by()
        ):
            grades.setdefault((kind, owner), []).append((grade, is_copy, count))

    facts = CellFacts(covered, controls, stages, baselines, programmes, grades)
    return cells_assemble(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, facts=facts, today=today)


@dataclass(frozen=True)
class CellFacts:
    """The facts `cells_assemble` builds cells from, as `cell_grid` reads them
    (regulatory.record_time builds the same from the record as it stood at a
    past moment): covered therapy ids per jurisdiction; per pair the latest
    control and stage rows (see `_latest_per_pair`); baselines by
    (jurisdiction id, casefolded substance); programmes opened by the date
    (with `therapies` readable); source counts by (table, owner id)."""

    covered: dict
    controls: dict
    stages: dict
    baselines: dict
    programmes: list
    grades: dict


def cells_assemble(
    *, as_of: dt.date, jurisdictions: list[Jurisdiction], therapies: list[Therapy], facts: CellFacts, today: dt.date
) -> dict[tuple[int, int], Cell]:
    """Every cell on `as_of` from `facts`: no queries."""
    from regulatory.models import GRADE_RANK, STALE_AFTER_DAYS

    covered, controls, stages, baselines, programmes, grades = (
        facts.covered,
        facts.controls,
        facts.stages,
        facts.baselines,
        facts.programmes,
        facts.grades,
    )
    stale_before = min(as_of, today) - dt.timedelta(days=STALE_AFTER_DAYS)
    cells: dict[tuple[int, int], Cell] = {}
    for j in jurisdictions:
        covered_ids = covered.get(j.pk, set())
        for t in therapies:
            key, substance = (j.pk, t.pk), t.substance.casefold()
            uncertain: list[str] = []
            facts: list[tuple[str, int, bool]] = []  # (table, id, verified)
            control = None
            if key in controls:
                _, _, value, since, precision, decision_id, instrument, verified = controls[key]
                control = ControlInForce(value, instrument, since, precision, decision_id=decision_id)
                facts.append(("decision", decision_id, verified))
                if _within(since, precision, as_of):
                    uncertain.append("control")
            else:
                baseline = baselines.get((j.pk, substance))
                if baseline and (baseline.since_on is None or baseline.since_on <= as_of):
                    control = ControlInForce(
                        baseline.control,
                        baseline.instrument,
                        baseline.since_on,
                        baseline.since_precision,
                        baseline_id=baseline.pk,
                        known_before=baseline.known_before,
                    )
                    facts.append(("baseline", baseline.pk, baseline.verified))
                    if baseline.since_on is None and (baseline.known_before is None or as_of < baseline.known_before):
                        uncertain.append("control start date unknown")
                    elif _within(baseline.since_on, baseline.since_precision, as_of):
                        uncertain.append("control")
            stage = None
            if key in stages:
                _, _, value, since, precision, decision_id, _, verified = stages[key]
                stage = StageInForce(value, since, precision, decision_id)
                facts.append(("decision", decision_id, verified))
                if _within(since, precision, as_of):
                    uncertain.append("approval stage")
            routes = []
            for p in programmes:
                if p.jurisdiction_id != j.pk:
                    continue
                if not (p.substance.casefold() == substance or any(pt.pk == t.pk for pt in p.therapies.all())):
                    continue  # general programmes (neither) give no route in a cell
                state = _route_state(p, as_of)
                routes.append(
                    Route(
                        p.pk,
                        p.slug,
                        p.name,
                        p.kind,
                        state,
                        p.capped,
                        p.capacity,
                        p.opened_on,
                        p.opened_precision,
                        p.closed_on,
                        p.closed_precision,
                        p.known_until,
                        p.known_until_precision,
                    )
                )
                facts.append(("programme", p.pk, p.verified))
                if (
                    _within(p.opened_on, p.opened_precision, as_of)
                    or _within(p.closed_on, p.closed_precision, as_of)
                    or _within(p.known_until, p.known_until_precision, as_of)
                ):
                    uncertain.append(f"route {p.slug}")
            rows = [row for table, owner, _ in dict.fromkeys(facts) for row in grades.get((table, owner), [])]
            total = sum(count for _, _, count in rows)
            best = min((grade for grade, _, _ in rows), key=lambda g: GRADE_RANK.get(g, 99), default=None)
            # "official (copy)" only when no original of the best grade is cited.
            best_copy = best is not None and all(is_copy for grade, is_copy, _ in rows if grade == best)
            cells[key] = Cell(
                jurisdiction_id=j.pk,
                therapy_id=t.pk,
                as_of=as_of,
                control=control,
                approval_stage=stage,
                access=tuple(routes),
                covered=j.covers(t, covered_ids),
                certain=not uncertain,
                uncertain_because=tuple(uncertain),
                provenance=Provenance(best, total, any(not verified for _, _, verified in facts), best_copy),
                reviewed_to=j.reviewed_to,
                stale=j.reviewed_to is None or j.reviewed_to < stale_before,
            )
    return cells


def status_matrix(
    *, as_of: dt.date, jurisdiction_ids: Iterable[int] | None = None, therapy_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], Cell]:
    """Every (jurisdiction, therapy) cell on `as_of` (see `cell_grid`)."""
    jurisdictions = Jurisdiction.objects.order_by("position", "code")
    therapies = therapy_list()
    if jurisdiction_ids is not None:
        jurisdictions = jurisdictions.filter(pk__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        therapies = therapies.filter(pk__in=list(therapy_ids))
    return cell_grid(as_of=as_of, jurisdictions=list(jurisdictions), therapies=list(therapies))


def status_for(*, jurisdiction: Jurisdiction, therapy: Therapy, as_of: dt.date) -> Cell:
    """The cell of one (jurisdiction, therapy) pair on `as_of`."""
    return status_matrix(as_of=as_of, jurisdiction_ids=[jurisdiction.pk], therapy_ids=[therapy.pk])[
        (jurisdiction.pk, therapy.pk)
    ]


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
    from regulatory.models import (
        AccessProgramme,
        BaselineSource,
        ControlBaseline,
        DatasetRelease,
        ProgrammeSource,
        Regulator,
        Source,
    )

    # Every save and delete of these writes a simple_history row, so the
    # highest history id changes whenever a draft, a source or a reference
    # row changes; publishes, amendments and retractions also append a Change.
    return [
        Decision,
        Source,
        Jurisdiction,
        Regulator,
        Therapy,
        AccessProgramme,
        ProgrammeSource,
        ControlBaseline,
        BaselineSource,
        DatasetRelease,
    ]


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
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def decision_latest_recorded_at():
    """An expression: when the decision's latest Change was recorded (None for drafts)."""
    from django.db.models import OuterRef, Subquery

    from regulatory.models import Change

    # Change ids are committed in order, so the highest id is the latest record.
    return Subquery(Change.objects.filter(decision=OuterRef("pk")).order_by("-id").values("recorded_at")[:1])


def decision_latest_is_import():
    """An expression: whether the decision's latest Change came from a load of
    the historical dataset (then it is history, dated by its announcement)."""
    from django.db.models import OuterRef, Subquery

    from regulatory.models import Change

    return Subquery(Change.objects.filter(decision=OuterRef("pk")).order_by("-id").values("is_import")[:1])


def decision_list_api(*, include_drafts: bool = False) -> QuerySet[Decision]:
    """Decisions as the API, the feeds and the CSV export show them, newest
    announcement first (id breaks ties, so pages are stable), each annotated
    with `recorded_at` and `imported` (its latest change was a dataset load).
    Drafts only for editors."""
    base = Decision.objects.all() if include_drafts else Decision.objects.filter(state__in=PUBLIC_STATES)
    return (
        base.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources")
        .annotate(recorded_at=decision_latest_recorded_at(), imported=decision_latest_is_import())
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
    return queryset.filter(Exists(through.objects.filter(decision_id=OuterRef("pk"), therapy_id__in=list(therapy_ids))))


def decision_list_search(queryset: QuerySet[Decision], *, text: str) -> QuerySet[Decision]:
    from django.db.models import Q

    return queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text))


def decision_list_feed(queryset: QuerySet[Decision] | None = None, *, limit: int = 100) -> list[Decision]:
    """Public decisions for the Atom feed (from `queryset`, a filtered
    `decision_list_api()`), most recently recorded first, at most `limit`."""
    from django.db.models import Case, DateTimeField, F, When
    from django.db.models.functions import Cast

    if queryset is None:
        queryset = decision_list_api()
    # An imported entry is history: it sorts (and is dated) by its
    # announcement, not by the minute the dataset was loaded.
    queryset = queryset.annotate(
        feed_at=Case(
            When(imported=True, then=Cast("announced_on", DateTimeField())),
            default=F("recorded_at"),
            output_field=DateTimeField(),
        )
    )
    return list(queryset.order_by(F("feed_at").desc(nulls_last=True), "-id")[:limit])


@dataclass(frozen=True)
class StatusRow:
    jurisdiction: Jurisdiction
    therapy: Therapy
    cell: Cell


def status_rows(
    *, as_of: dt.date, jurisdictions: list[Jurisdiction] | None = None, therapies: list[Therapy] | None = None
) -> list[StatusRow]:
    """One row per (jurisdiction, therapy) pair, in matrix order, with its
    cell on `as_of`. A fixed number of queries (see `cell_grid`)."""
    if jurisdictions is None:
        jurisdictions = list(Jurisdiction.objects.order_by("position", "code"))
    if therapies is None:
        therapies = list(therapy_list())
    cells = cell_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies)
    return [StatusRow(jurisdiction=j, therapy=t, cell=cells[(j.pk, t.pk)]) for j in jurisdictions for t in therapies]


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


def upcoming_dates(
    *,
    today: dt.date,
    jurisdiction_ids: Iterable[int] | None = None,
    therapy_ids: Iterable[int] | None = None,
    announced_by: dt.date | None = None,
) -> list[UpcomingDate]:
    """Future effective and target dates of live decisions, soonest first.
    With `announced_by`, only decisions announced by then (what was coming
    up as seen on a past date)."""
    queryset = (
        decision_list_api()
        .filter(state__in=LIVE_STATES)
        .filter(_not_yet_past("effective", today) | _not_yet_past("target", today))
    )
    if announced_by is not None:
        queryset = queryset.filter(announced_on__lte=announced_by)
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
    return (
        Jurisdiction.objects.select_related("parent")
        .prefetch_related("regulators", "covers_therapies")
        .order_by("position", "code")
    )


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
