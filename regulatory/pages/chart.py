"""SVG geometry of the timeline chart: one lane per jurisdiction, status
bands behind, decision marks on top, on a `TimeScale` axis."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from regulatory.dates import LATEST_DATE, is_ahead, period_middle, period_of
from regulatory.models import LIVE_STATES, Decision, DecisionKind, DecisionState, Jurisdiction, Precision
from regulatory.pages.parameters import TimelineParams
from regulatory.pages.scale import AxisBreak, Tick, TimeScale

# Marks are shaped by the kind of decision; colour is kept for the status bands.
KIND_GROUPS: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "review",
        "Application & review",
        "circle",
        (DecisionKind.DESIGNATION, DecisionKind.SUBMISSION, DecisionKind.ACCEPTANCE, DecisionKind.ADVISORY_VOTE),
    ),
    ("outcome", "Approval or refusal", "diamond", (DecisionKind.APPROVAL, DecisionKind.REFUSAL)),
    ("law", "Law & scheduling", "square", (DecisionKind.SCHEDULING, DecisionKind.LEGISLATION)),
    ("access", "Access programme", "triangle", (DecisionKind.ACCESS_PROGRAMME,)),
    (
        "other",
        "Guidance, evidence & other",
        "triangle-down",
        (DecisionKind.GUIDANCE, DecisionKind.TRIAL_RESULT, DecisionKind.OTHER),
    ),
]
KIND_SHAPE: dict[str, str] = {kind: shape for _, _, shape, kinds in KIND_GROUPS for kind in kinds}


def kind_legend() -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": label,
            "shape": shape,
            "path": shape_path(shape, 9, 9, 6),
            "kinds": [DecisionKind(k).label for k in kinds],
        }
        for key, label, shape, kinds in KIND_GROUPS
    ]


def shape_path(shape: str, cx: float, cy: float, s: float) -> str:
    """SVG path data for a mark of radius-ish `s` centred on (cx, cy)."""

    def n(v: float) -> str:
        return f"{v:.1f}".rstrip("0").rstrip(".")

    if shape == "diamond":
        r = s * 1.3
        return f"M{n(cx)},{n(cy - r)}L{n(cx + r)},{n(cy)}L{n(cx)},{n(cy + r)}L{n(cx - r)},{n(cy)}Z"
    if shape == "square":
        r = s * 0.9
        return f"M{n(cx - r)},{n(cy - r)}H{n(cx + r)}V{n(cy + r)}H{n(cx - r)}Z"
    if shape == "triangle":
        return f"M{n(cx)},{n(cy - s * 1.25)}L{n(cx + s * 1.2)},{n(cy + s * 0.9)}L{n(cx - s * 1.2)},{n(cy + s * 0.9)}Z"
    if shape == "triangle-down":
        return f"M{n(cx)},{n(cy + s * 1.25)}L{n(cx + s * 1.2)},{n(cy - s * 0.9)}L{n(cx - s * 1.2)},{n(cy - s * 0.9)}Z"
    return f"M{n(cx - s)},{n(cy)}a{n(s)},{n(s)} 0 1,0 {n(2 * s)},0a{n(s)},{n(s)} 0 1,0 {n(-2 * s)},0Z"


@dataclass
class Mark:
    decision: Decision
    date: dt.date
    date_display: str
    which: str  # announced / effective / target
    shape: str
    x: float
    upcoming: bool
    dimmed: bool
    span: tuple[float, float] | None  # the period an imprecise date covers
    y: float = 0.0
    row: int = 0

    @property
    def path(self) -> str:
        return shape_path(self.shape, self.x, self.y, 5.5)

    @property
    def url(self) -> str:
        return self.decision.get_absolute_url()

    @property
    def retracted(self) -> bool:
        return self.decision.state == DecisionState.RETRACTED

    @property
    def title(self) -> str:
        d = self.decision
        what = {"announced": "", "effective": "Takes effect · ", "target": "Target date · "}[self.which]
        parts = [f"{self.date_display} — {what}{d.get_kind_display()}: {d.title}"]
        if d.sets_status and self.which != "target":
            parts.append(f"Sets: {d.status_summary}")
        if self.upcoming:
            parts.append("Upcoming")
        if not d.verified:
            parts.append(f"Unverified: {d.verification_note}" if d.verification_note else "Unverified")
        if self.retracted:
            parts.append("Retracted")
        return " · ".join(parts)


# A band's colour: what the decision that starts it sets, in the matrix's
# tones (its approval stage if it sets one, else its control).
STAGE_TONES = {
    "none": "none",
    "investigational": "investigational",
    "under_review": "review",
    "approved": "approved",
    "not_approved": "refused",
    "withdrawn": "refused",
}
CONTROL_TONES = {"prohibited": "prohibited", "medical_use_permitted": "permitted", "not_controlled": "uncontrolled"}


def decision_band(decision: Decision) -> tuple[str, str]:
    """(tone, label) of what a decision sets, e.g. ('review', 'Under review')
    or ('prohibited', 'Schedule I')."""
    if decision.approval_stage:
        return STAGE_TONES[decision.approval_stage], decision.get_approval_stage_display()
    short = decision.control_instrument.split(",", 1)[0].strip() or decision.get_control_display()
    return CONTROL_TONES.get(decision.control, "none"), short


@dataclass
class Band:
    status: str  # the tone
    band_label: str
    x0: float
    x1: float
    upcoming: bool
    decision: Decision
    since_display: str

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def label(self) -> str:
        return self.band_label

    @property
    def label_fits(self) -> bool:
        # About 6.6 units a character at the band label's size, plus padding.
        return self.width >= len(self.label) * 6.6 + 12

    @property
    def title(self) -> str:
        return f"{self.label} from {self.since_display} ({self.decision.title})"


@dataclass
class Lane:
    jurisdiction: Jurisdiction
    y: float
    height: float
    marks: list[Mark]
    bands: list[Band]
    current: Decision | None = None  # the decision whose setting is in force today

    @property
    def current_tone(self) -> str:
        return decision_band(self.current)[0] if self.current else ""

    @property
    def current_label(self) -> str:
        return decision_band(self.current)[1] if self.current else ""

    @property
    def label_y(self) -> float:
        return self.y + self.height / 2 - (7 if self.current else 0)

    @property
    def status_y(self) -> float:
        return self.y + self.height / 2 + 10

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class TimelineChart:
    width: float
    height: float
    plot_x0: float
    plot_x1: float
    top: float
    axis_y: float
    start: dt.date
    end: dt.date
    lanes: list[Lane]
    ticks: list[Tick]
    today_x: float | None
    breaks: list[AxisBreak] = field(default_factory=list)

    @property
    def plot_width(self) -> float:
        return self.plot_x1 - self.plot_x0

    @property
    def future_width(self) -> float:
        """Width of the part of the chart after today, shaded as not yet happened."""
        return round(self.plot_x1 - self.today_x, 1) if self.today_x is not None else 0.0


# Drawing constants, in viewBox units (the SVG scales to the page width).
CHART_WIDTH = 1000.0
LABEL_WIDTH = 150.0
RIGHT_PAD = 24.0
TOP_PAD = 26.0
ROW_HEIGHT = 18.0
LANE_PAD = 14.0
LANE_GAP = 6.0
AXIS_HEIGHT = 30.0
MARK_GAP = 13.0  # closer marks than this go to the next row of a lane
MAX_ROWS = 6


def _window(decisions: list[Decision], params: TimelineParams, today: dt.date) -> tuple[dt.date, dt.date]:
    dates = [today]
    for d in decisions:
        # A date past LATEST_DATE (stored before dates were bounded) is left
        # off the chart rather than stretching the axis past the calendar.
        dates += [x for x in (d.announced_on, d.effective_on, d.target_on) if x and x <= LATEST_DATE]
    if params.date_from:
        start = params.date_from
    else:
        start = dt.date(min(dates).year, 1, 1)
    if params.date_to:
        end = params.date_to
    else:
        # A few months of room after the last mark (and today), rounded to
        # the next half year, so that nothing sits on the edge.
        room = max(dates) + dt.timedelta(days=90)
        end = dt.date(room.year + 1, 1, 1) if room.month > 6 else dt.date(room.year, 7, 1)
    if end <= start:
        end = start + dt.timedelta(days=1)
    return start, end


def _stack(marks: list[Mark]) -> int:
    """Give each mark a row so that marks in one row are at least MARK_GAP
    apart; return the number of rows used."""
    last_x: list[float] = []
    for mark in sorted(marks, key=lambda m: (m.x, m.decision.pk)):
        row = next((i for i, x in enumerate(last_x) if mark.x - x >= MARK_GAP), None)
        if row is None:
            if len(last_x) < MAX_ROWS:
                row = len(last_x)
                last_x.append(mark.x)
            else:  # a crowded lane: overlap in the row that has had the most room
                row = min(range(len(last_x)), key=last_x.__getitem__)
        mark.row = row
        last_x[row] = mark.x
    return max(1, len(last_x))


def _bands(
    decisions: list[Decision], start: dt.date, end: dt.date, today: dt.date, x_of: Callable[[dt.date], float]
) -> list[Band]:
    """What each stage- or control-setting decision set, from its effective
    date to the next one's, in the order the selectors use on a day."""
    setters = sorted(
        (d for d in decisions if d.state in LIVE_STATES and d.sets_status and d.effective_on),
        key=lambda d: (d.effective_on, d.announced_on, d.pk),
    )
    bands: list[Band] = []
    for d, nxt in itertools.zip_longest(setters, setters[1:]):
        begin, finish = d.effective_on, nxt.effective_on if nxt else end
        assert begin is not None and finish is not None  # every setter has an effective date
        if finish <= start or begin >= end or finish <= begin:
            continue
        x0, x1 = x_of(max(begin, start)), x_of(min(finish, end))
        tone, label = decision_band(d)
        if (
            bands
            and (bands[-1].status, bands[-1].band_label) == (tone, label)
            and bands[-1].x1 == x0
            and bands[-1].upcoming == (begin > today)
        ):
            bands[-1].x1 = x1  # a decision confirming what is in force continues its band
            continue
        bands.append(Band(tone, label, x0, x1, begin > today, d, d.effective_display))
    return bands


def _status_setter_on(decisions: list[Decision], day: dt.date) -> Decision | None:
    """The latest stage- or control-setting decision in force on `day` (the selectors' order)."""
    setters = [
        d for d in decisions if d.state in LIVE_STATES and d.sets_status and d.effective_on and d.effective_on <= day
    ]
    return max(setters, key=lambda d: (d.effective_on, d.announced_on, d.pk), default=None)


def timeline_chart_build(
    *, lanes_decisions: list[tuple[Jurisdiction, list[Decision]]], params: TimelineParams, today: dt.date
) -> TimelineChart:
    """Lay out the SVG: one lane per jurisdiction, bands behind, marks on top."""
    everything = [d for _, ds in lanes_decisions for d in ds]
    start, end = _window(everything, params, today)
    busy = [today]
    for d in everything:
        for day, precision in (
            (d.announced_on, d.announced_precision),
            (d.effective_on, d.effective_precision),
            (d.target_on, d.target_precision),
        ):
            if day and day <= LATEST_DATE:
                busy += [*period_of(day, precision), period_middle(day, precision)]
    scale = TimeScale(start, end, busy, LABEL_WIDTH, CHART_WIDTH - RIGHT_PAD)
    x_of = scale.x
    plot_x0, plot_x1 = scale.x0, scale.x1

    lanes: list[Lane] = []
    y = TOP_PAD
    for jurisdiction, decisions in lanes_decisions:
        marks: list[Mark] = []
        for d in decisions:
            dimmed = params.filtering and not params.matches(d)
            points = [("announced", d.announced_on, d.announced_precision, d.announced_display)]
            # Dates still ahead get a hollow mark of their own; like the
            # upcoming feed, "Aug 2026" stays ahead until August is over.
            if (
                d.effective_on
                and is_ahead(d.effective_on, d.effective_precision, today)
                and d.effective_on != d.announced_on
            ):
                points.append(("effective", d.effective_on, d.effective_precision, d.effective_display))
            if d.target_on and is_ahead(d.target_on, d.target_precision, today):
                points.append(("target", d.target_on, d.target_precision, d.target_display))
            for which, day, precision, display in points:
                first, last = period_of(day, precision)
                middle = period_middle(day, precision)
                if middle < start or middle > end:
                    continue
                span = None
                if precision != Precision.DAY and x_of(min(last, end)) - x_of(max(first, start)) > 8:
                    span = (x_of(max(first, start)), x_of(min(last, end)))
                upcoming = first > today if which == "announced" else True
                marks.append(
                    Mark(
                        d,
                        day,
                        display,
                        which,
                        KIND_SHAPE.get(d.kind, "circle"),
                        x_of(middle),
                        upcoming=upcoming,
                        dimmed=dimmed,
                        span=span,
                    )
                )
        rows = _stack(marks)
        height = LANE_PAD * 2 + rows * ROW_HEIGHT
        for mark in marks:
            mark.y = y + LANE_PAD + ROW_HEIGHT * mark.row + ROW_HEIGHT / 2
        marks.sort(key=lambda m: (m.dimmed is False, m.x))  # dimmed first, so live marks draw on top
        lanes.append(
            Lane(
                jurisdiction,
                y,
                height,
                marks,
                _bands(decisions, start, end, today, x_of),
                current=_status_setter_on(decisions, min(today, end)),
            )
        )
        y += height + LANE_GAP
    axis_y = y - LANE_GAP + 4
    return TimelineChart(
        width=CHART_WIDTH,
        height=axis_y + AXIS_HEIGHT,
        plot_x0=plot_x0,
        plot_x1=plot_x1,
        top=TOP_PAD,
        axis_y=axis_y,
        start=start,
        end=end,
        lanes=lanes,
        ticks=scale.ticks(),
        breaks=scale.breaks,
        today_x=x_of(today) if start <= today <= end else None,
    )
