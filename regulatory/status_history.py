"""The history of one (jurisdiction, therapy) cell: the intervals of each
dimension (control, approval stage, access routes) in order, each with the
date it opened, the date the next one opened (null while it is in force)
and the decision, baseline or programme that opened it.

The intervals follow the rule of the cells (`selectors`): a decision is in
force from its effective date until the next one with the same dimension
takes effect (on the same day the later announcement, then the later
record wins, so the other opens no interval); before the first decision
with a control, the jurisdiction's baseline for the substance; a route's
state changes on its programme's opening, closing, and the day after the
last date it is known open to. Five queries whatever the size of the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from regulatory import selectors
from regulatory.dates import period_end
from regulatory.models import (
    LIVE_STATES,
    NON_ROUTE_KINDS,
    AccessProgramme,
    ApprovalStage,
    Control,
    ControlBaseline,
    Decision,
    Jurisdiction,
    Precision,
    Therapy,
    format_partial_date,
)


@dataclass(frozen=True)
class Interval:
    start: dt.date | None  # None: in force since a date not known
    start_precision: str
    end: dt.date | None  # the date the next interval opens; None: still in force
    value: Any
    label: str
    opened_by: dict[str, Any]

    @property
    def start_display(self) -> str:
        return format_partial_date(self.start, self.start_precision) if self.start else "start date unknown"


@dataclass
class CellHistory:
    jurisdiction: Jurisdiction
    therapy: Therapy
    control: list[Interval] = field(default_factory=list)
    approval_stage: list[Interval] = field(default_factory=list)
    access: list[Interval] = field(default_factory=list)


def _decision_ref(d: Decision) -> dict[str, Any]:
    return {"decision": d.pk, "title": d.title, "kind": d.kind}


def _decision_intervals(decisions: list[Decision], *, name: str) -> list[Interval]:
    """Intervals of one dimension set by decisions (sorted in force order)."""
    chosen = [d for d in decisions if getattr(d, name)]
    chosen.sort(key=lambda d: (d.effective_on, d.announced_on, d.pk))
    # On the same effective date only the last (later announcement, record) is in force.
    winners = [d for i, d in enumerate(chosen) if i + 1 == len(chosen) or chosen[i + 1].effective_on != d.effective_on]
    out = []
    for i, d in enumerate(winners):
        end = winners[i + 1].effective_on if i + 1 < len(winners) else None
        if name == "control":
            value = {"value": d.control, "label": Control(d.control).label, "instrument": d.control_instrument}
            label = d.control_instrument.split(",", 1)[0].strip() or Control(d.control).label
        else:
            value = {"value": d.approval_stage, "label": ApprovalStage(d.approval_stage).label}
            label = ApprovalStage(d.approval_stage).label
        out.append(Interval(d.effective_on, d.effective_precision, end, value, label, _decision_ref(d)))
    return out


def _access_intervals(programmes: list[AccessProgramme]) -> list[Interval]:
    """The routes of the cell between each programme date and the next."""
    points: dict[dt.date, list[str]] = {}
    for p in programmes:
        if p.opened_on:
            points.setdefault(p.opened_on, []).append(p.slug)
        if p.closed_on:
            points.setdefault(p.closed_on, []).append(p.slug)
        if p.known_until:
            after = period_end(p.known_until, p.known_until_precision) + dt.timedelta(days=1)
            points.setdefault(after, []).append(p.slug)

    def routes_on(day: dt.date) -> list[dict[str, Any]]:
        out = []
        for p in programmes:
            if p.opened_on is None or p.opened_on <= day:
                state = selectors._route_state(p, day)
                label = selectors.Route(
                    p.pk, p.slug, p.name, p.kind, state, p.capped, p.capacity, p.opened_on, p.opened_precision,
                    p.closed_on, p.closed_precision, p.known_until, p.known_until_precision,
                ).label  # fmt: skip
                out.append({"programme": p.slug, "kind": p.kind, "state": state, "capped": p.capped, "label": label})
        return out

    intervals: list[Interval] = []
    days = sorted(points)
    starts: list[tuple[dt.date | None, list[str]]] = [(None, [p.slug for p in programmes if p.opened_on is None])]
    starts += [(day, points[day]) for day in days]
    for start, slugs in starts:
        routes = routes_on(start or (days[0] - dt.timedelta(days=1) if days else dt.date.max))
        if start is None and not routes:
            continue
        if intervals and intervals[-1].value == routes:
            continue
        if intervals:
            last = intervals[-1]
            intervals[-1] = Interval(last.start, last.start_precision, start, last.value, last.label, last.opened_by)
        precision = next(
            (
                getattr(p, f"{which}_precision")
                for p in programmes
                if p.slug in slugs
                for which in ("opened", "closed")
                if getattr(p, f"{which}_on") == start
            ),
            Precision.DAY,
        )
        label = " · ".join(r["label"] for r in routes) or "No route"
        intervals.append(Interval(start, precision, None, routes, label, {"programmes": sorted(set(slugs))}))
    return intervals


def cell_history(*, jurisdiction: Jurisdiction, therapy: Therapy) -> CellHistory:
    """The intervals of each dimension of one cell (five queries)."""
    decisions = list(
        Decision.objects.filter(state__in=LIVE_STATES, jurisdiction=jurisdiction, therapies=therapy)
        .filter(effective_on__isnull=False)
        .exclude(control="", approval_stage="")
        .order_by("effective_on", "announced_on", "id")
    )
    history = CellHistory(jurisdiction=jurisdiction, therapy=therapy)
    history.control = _decision_intervals(decisions, name="control")
    baseline = ControlBaseline.objects.filter(jurisdiction=jurisdiction, substance__iexact=therapy.substance).first()
    first = history.control[0].start if history.control else None
    if baseline and (first is None or baseline.since_on is None or baseline.since_on < first):
        value = {"value": baseline.control, "label": Control(baseline.control).label, "instrument": baseline.instrument}
        label = baseline.instrument.split(",", 1)[0].strip() or Control(baseline.control).label
        history.control.insert(
            0, Interval(baseline.since_on, baseline.since_precision, first, value, label, {"baseline": baseline.pk})
        )
    history.approval_stage = _decision_intervals(decisions, name="approval_stage")
    programmes = list(
        AccessProgramme.objects.filter(jurisdiction=jurisdiction)
        .exclude(kind__in=NON_ROUTE_KINDS)
        .filter(Q(substance__iexact=therapy.substance) | Q(therapies=therapy))
        .distinct()
        .order_by("opened_on", "id")
    )
    history.access = _access_intervals(programmes)
    return history
