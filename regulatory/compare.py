"""Compare two dates: which cells changed between `from` and `to`, in which
dimension (control, approval stage, access routes, and so the headline),
what set each new value, and the decisions and access-programme changes in
between (effective or announced in (from, to]).

Both sides are the issue-9 cells (`selectors.cell_grid`, or in record time
`record_time.status_grid`): a change here is exactly a difference between
two matrices. Optionally in record time (the record as shown at R). A fixed
number of queries whatever the size of the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from regulatory import record_time, selectors
from regulatory.dates import period_end
from regulatory.models import (
    LIVE_STATES,
    AccessProgramme,
    ApprovalStage,
    Control,
    Decision,
    DecisionKind,
    Jurisdiction,
    ProgrammeKind,
    Therapy,
    format_partial_date,
)

DIMENSIONS = ("control", "approval_stage", "access", "headline")
DIMENSION_LABELS = {
    "control": "Control",
    "approval_stage": "Approval stage",
    "access": "Access",
    "headline": "Headline",
}


def control_value(cell: selectors.Cell) -> dict[str, Any] | None:
    c = cell.control
    if c is None:
        return None
    return {
        "value": c.value,
        "label": c.label,
        "instrument": c.instrument,
        "since": c.since.isoformat() if c.since else None,
        "decision": c.decision_id,
        "baseline": c.baseline_id,
    }


def stage_value(cell: selectors.Cell) -> dict[str, Any] | None:
    s = cell.approval_stage
    if s is None:
        return None
    return {"value": s.value, "label": s.label, "since": s.since.isoformat(), "decision": s.decision_id}


def access_value(cell: selectors.Cell) -> list[dict[str, Any]]:
    return [
        {"programme": r.slug, "kind": r.kind, "state": r.state, "capped": r.capped, "label": r.label}
        for r in cell.access
    ]


def _control_text(cell: selectors.Cell) -> str:
    return f"{cell.control.short} ({cell.control.label.lower()})" if cell.control else "—"


def _stage_text(cell: selectors.Cell) -> str:
    return cell.approval_stage.label if cell.approval_stage else "—"


def _access_text(cell: selectors.Cell) -> str:
    return ", ".join(r.label for r in cell.access) or "no route"


@dataclass(frozen=True)
class DimensionChange:
    dimension: str
    before: Any
    after: Any
    before_text: str
    after_text: str
    set_by: list[dict[str, Any]]

    @property
    def label(self) -> str:
        return DIMENSION_LABELS[self.dimension]


def cell_changes(before: selectors.Cell, after: selectors.Cell) -> list[DimensionChange]:
    """The dimensions in which `after` differs from `before`, each with what
    set its new value (the decision or baseline, the programmes whose route
    changed). Empty when the cell did not change."""
    out = []
    old, new = control_value(before), control_value(after)
    if (old and (old["value"], old["instrument"])) != (new and (new["value"], new["instrument"])):
        set_by = [{"decision": new["decision"]} if new["decision"] else {"baseline": new["baseline"]}] if new else []
        out.append(DimensionChange("control", old, new, _control_text(before), _control_text(after), set_by))
    old, new = stage_value(before), stage_value(after)
    if (old and old["value"]) != (new and new["value"]):
        set_by = [{"decision": new["decision"]}] if new else []
        out.append(DimensionChange("approval_stage", old, new, _stage_text(before), _stage_text(after), set_by))
    old_routes, new_routes = access_value(before), access_value(after)
    key = lambda r: (r["programme"], r["state"], r["capped"])  # noqa: E731
    if [key(r) for r in old_routes] != [key(r) for r in new_routes]:
        was = {key(r) for r in old_routes}
        set_by = [{"programme": r["programme"]} for r in new_routes if key(r) not in was]
        gone = {r["programme"] for r in new_routes}
        set_by += [{"programme": r["programme"]} for r in old_routes if r["programme"] not in gone]
        out.append(DimensionChange("access", old_routes, new_routes, _access_text(before), _access_text(after), set_by))
    if before.headline != after.headline:
        out.append(DimensionChange("headline", before.headline, after.headline, before.headline, after.headline, []))
    return out


@dataclass(frozen=True)
class CellComparison:
    jurisdiction: Jurisdiction
    therapy: Therapy
    before: selectors.Cell
    after: selectors.Cell
    changes: list[DimensionChange]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class DecisionEvent:
    """A decision effective or announced between the two dates."""

    id: int
    title: str
    kind: str
    jurisdiction: str
    jurisdiction_name: str
    therapies: list[str]
    announced_on: dt.date | None
    announced_precision: str
    effective_on: dt.date | None
    effective_precision: str
    control: str
    control_instrument: str
    approval_stage: str
    state: str

    @property
    def kind_label(self) -> str:
        return DecisionKind(self.kind).label if self.kind in DecisionKind.values else self.kind

    @property
    def announced_display(self) -> str:
        return format_partial_date(self.announced_on, self.announced_precision)

    @property
    def effective_display(self) -> str:
        return format_partial_date(self.effective_on, self.effective_precision)

    @property
    def sets(self) -> str:
        parts = []
        if self.control in Control.values:
            parts.append(f"{Control(self.control).label} ({self.control_instrument})")
        if self.approval_stage in ApprovalStage.values:
            parts.append(f"approval stage: {ApprovalStage(self.approval_stage).label.lower()}")
        return "; ".join(parts)

    @property
    def url(self) -> str:
        from django.urls import reverse

        return reverse("regulatory-decision", args=[self.id])


@dataclass(frozen=True)
class ProgrammeEvent:
    """An access programme opening, closing, or passing the last date it is
    known open to, between the two dates."""

    slug: str
    name: str
    kind: str
    jurisdiction: str
    jurisdiction_name: str
    event: str  # opened | closed | unknown_after
    on: dt.date
    precision: str

    @property
    def kind_label(self) -> str:
        return ProgrammeKind(self.kind).label if self.kind in ProgrammeKind.values else self.kind

    @property
    def display(self) -> str:
        return format_partial_date(self.on, self.precision)

    @property
    def event_label(self) -> str:
        return {"opened": "Opened", "closed": "Closed", "unknown_after": "State unknown after"}[self.event]


@dataclass
class Comparison:
    date_from: dt.date
    date_to: dt.date
    jurisdictions: list[Jurisdiction]
    therapies: list[Therapy]
    cells: dict[tuple[int, int], CellComparison]
    decisions: list[DecisionEvent]
    programme_events: list[ProgrammeEvent]
    recorded: record_time.RecordTime | None

    @property
    def changed(self) -> list[CellComparison]:
        """The changed cells in matrix order."""
        return [
            self.cells[(j.pk, t.pk)]
            for j in self.jurisdictions
            for t in self.therapies
            if self.cells[(j.pk, t.pk)].changed
        ]


def _in_range(on: dt.date | None, date_from: dt.date, date_to: dt.date) -> bool:
    return on is not None and date_from < on <= date_to


def _decisions_between(
    date_from: dt.date, date_to: dt.date, *, jurisdictions: list[Jurisdiction], recorded, decisions
) -> list[DecisionEvent]:
    names = {j.code: j.name for j in jurisdictions}
    events = []
    if recorded is None:
        rows = (
            Decision.objects.filter(state__in=LIVE_STATES, jurisdiction__code__in=list(names))
            .filter(
                Q(announced_on__gt=date_from, announced_on__lte=date_to)
                | Q(effective_on__gt=date_from, effective_on__lte=date_to)
            )
            .select_related("jurisdiction")
            .prefetch_related("therapies")
        )
        for d in rows:
            events.append(
                DecisionEvent(
                    d.pk,
                    d.title,
                    d.kind,
                    d.jurisdiction.code,
                    d.jurisdiction.name,
                    sorted(t.slug for t in d.therapies.all()),
                    d.announced_on,
                    d.announced_precision,
                    d.effective_on,
                    d.effective_precision,
                    d.control,
                    d.control_instrument,
                    d.approval_stage,
                    d.state,
                )
            )
    else:
        for d in decisions.values():
            announced, effective = d.date("announced"), d.date("effective")
            if not d.is_live or d.jurisdiction_code not in names:
                continue
            if not (_in_range(announced, date_from, date_to) or _in_range(effective, date_from, date_to)):
                continue
            events.append(
                DecisionEvent(
                    d.id,
                    str(d.get("title")),
                    str(d.get("kind")),
                    d.jurisdiction_code,
                    names[d.jurisdiction_code],
                    sorted(d.therapy_slugs),
                    announced,
                    d.precision("announced"),
                    effective,
                    d.precision("effective"),
                    str(d.get("control")),
                    str(d.get("control_instrument")),
                    str(d.get("approval_stage")),
                    d.state,
                )
            )
    events.sort(key=lambda e: (e.effective_on or e.announced_on or dt.date.min, e.announced_on or dt.date.min, e.id))
    return events


def _programme_events(
    date_from: dt.date, date_to: dt.date, *, jurisdictions: list[Jurisdiction], recorded
) -> list[ProgrammeEvent]:
    by_id = {j.pk: j for j in jurisdictions}
    programmes = list(AccessProgramme.objects.filter(jurisdiction_id__in=list(by_id)).order_by("id"))
    if recorded is not None:
        programmes = record_time._overlay(
            programmes, AccessProgramme, at=recorded.at, names=record_time._PROGRAMME_FIELDS
        )
    events = []
    for p in programmes:
        j = by_id[p.jurisdiction_id]
        candidates: list[tuple[str, dt.date | None, str]] = [
            ("opened", p.opened_on, p.opened_precision),
            ("closed", p.closed_on, p.closed_precision),
        ]
        if p.known_until:
            after = period_end(p.known_until, p.known_until_precision) + dt.timedelta(days=1)
            candidates.append(("unknown_after", after, "day"))
        for event, on, precision in candidates:
            if on is not None and _in_range(on, date_from, date_to):
                events.append(ProgrammeEvent(p.slug, p.name, p.kind, j.code, j.name, event, on, precision))
    events.sort(key=lambda e: (e.on, e.jurisdiction, e.slug, e.event))
    return events


def compare_build(
    *,
    date_from: dt.date,
    date_to: dt.date,
    jurisdictions: list[Jurisdiction] | None = None,
    therapies: list[Therapy] | None = None,
    recorded: record_time.RecordTime | None = None,
    today: dt.date | None = None,
) -> Comparison:
    """Every cell on both dates, compared, with the decisions and programme
    changes in between. `from` must not be after `to` (the callers check)."""
    today = today or timezone.localdate()
    if jurisdictions is None:
        jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    if therapies is None:
        therapies = list(selectors.therapy_list())
    decisions = record_time.decisions_recorded(recorded.at) if recorded else None
    grid: dict[str, Any] = {
        "jurisdictions": jurisdictions,
        "therapies": therapies,
        "today": today,
        "recorded": recorded,
        "decisions": decisions,
    }
    before = record_time.status_grid(as_of=date_from, **grid)
    after = record_time.status_grid(as_of=date_to, **grid)
    cells = {
        (j.pk, t.pk): CellComparison(
            j, t, before[(j.pk, t.pk)], after[(j.pk, t.pk)], cell_changes(before[(j.pk, t.pk)], after[(j.pk, t.pk)])
        )
        for j in jurisdictions
        for t in therapies
    }
    return Comparison(
        date_from=date_from,
        date_to=date_to,
        jurisdictions=jurisdictions,
        therapies=therapies,
        cells=cells,
        decisions=_decisions_between(
            date_from, date_to, jurisdictions=jurisdictions, recorded=recorded, decisions=decisions
        ),
        programme_events=_programme_events(date_from, date_to, jurisdictions=jurisdictions, recorded=recorded),
        recorded=recorded,
    )
