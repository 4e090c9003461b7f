"""Reads and geometry for the analysts' HTML pages.

The views stay thin: they hand the query string to a `*_params_parse`
function (which raises `BadParameter` naming the parameter), then call one
`*_build` function here. Every builder runs a fixed number of queries whatever
the size of the data: it fetches with `select_related`/`prefetch_related` and
does the filtering and the drawing arithmetic in Python, on a dataset that is
hundreds of rows, not millions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q
from django.urls import reverse

from regulatory.editors import user_is_editor
from regulatory.models import (
    LIVE_STATES,
    PUBLIC_STATES,
    STATUS_DESCRIPTIONS,
    AccessProgramme,
    Change,
    ChangeKind,
    Decision,
    DecisionKind,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeState,
    SourceGrade,
    Status,
    Therapy,
    format_partial_date,
)
from regulatory.selectors import StatusEntry, decision_list_public, status_matrix, upcoming_dates

DEFAULT_THERAPY = "mdma-ptsd"


class BadParameter(Exception):
    """A query parameter the page cannot use; answered with a 400 page."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


# --- Parameters -------------------------------------------------------------

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


MIN_YEAR, MAX_YEAR = 1900, 2200


def date_param_parse(param: str, raw: str | None) -> dt.date | None:
    """A full YYYY-MM-DD date, or None when the parameter is absent or blank.

    Stricter than `date.fromisoformat`, which also takes '20240301' and week
    dates: analysts copy these URLs, so one spelling is easier to trust."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _DAY_RE.match(raw):
        raise BadParameter(param, f"“{raw}” is not a date; use the form YYYY-MM-DD, for example 2024-03-01.")
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(param, f"“{raw}” is not a real calendar date.") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadParameter(param, f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    return value


def bound_param_parse(param: str, raw: str | None, *, end: bool) -> dt.date | None:
    """A range bound as YYYY, YYYY-MM or YYYY-MM-DD: a `from` bound is the
    first day of the period, a `to` bound its last day (so to=2024 includes
    all of 2024)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _PARTIAL_RE.match(raw)
    if not match:
        raise BadParameter(param, f"“{raw}” is not a date; use YYYY-MM-DD (or just YYYY or YYYY-MM).")
    year, month, day = (int(g) if g else None for g in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        # Also keeps date arithmetic on the bound (axis padding) in range.
        raise BadParameter(param, f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    try:
        if day is not None:
            return dt.date(year, month, day)
        if month is not None:
            first = dt.date(year, month, 1)
            if not end:
                return first
            return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
    except ValueError:
        raise BadParameter(param, f"“{raw}” is not a real calendar date.") from None


def jurisdiction_param_parse(params: Mapping[str, Any], jurisdictions: Iterable[Jurisdiction]) -> list[str]:
    """The `jurisdiction` codes asked for, each checked against those known."""
    getlist = getattr(params, "getlist", None)
    codes = codes_param_parse(getlist("jurisdiction") if getlist else [params.get("jurisdiction") or ""])
    known = {j.code for j in jurisdictions}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise BadParameter("jurisdiction", f"unknown jurisdiction code{'s' if len(unknown) > 1 else ''} "
                                           f"{', '.join(unknown)}. Known codes: {', '.join(sorted(known))}.")
    return codes


def codes_param_parse(values: Iterable[str]) -> list[str]:
    """`?jurisdiction=us,au` and `?jurisdiction=us&jurisdiction=au` (what a
    row of checkboxes sends) mean the same."""
    codes: list[str] = []
    for value in values:
        for code in value.split(","):
            code = code.strip().lower()
            if code and code not in codes:
                codes.append(code)
    return codes


# --- Jurisdiction ordering ----------------------------------------------------


@dataclass(frozen=True)
class JurisdictionRow:
    jurisdiction: Jurisdiction
    depth: int  # 0 for a country or union, 1 for an EU member state


def jurisdiction_tree(jurisdictions: Iterable[Jurisdiction]) -> list[JurisdictionRow]:
    """Jurisdictions in matrix order, each member state right under its union."""
    items = list(jurisdictions)
    ids = {j.pk for j in items}
    children: dict[int | None, list[Jurisdiction]] = {}
    for j in items:
        parent = j.parent_id if j.parent_id in ids else None
        children.setdefault(parent, []).append(j)
    rows: list[JurisdictionRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for j in children.get(parent, []):
            rows.append(JurisdictionRow(j, depth))
            walk(j.pk, depth + 1)

    walk(None, 0)
    return rows


# --- Status matrix ------------------------------------------------------------


@dataclass(frozen=True)
class MatrixCell:
    therapy: Therapy
    entry: StatusEntry | None

    @property
    def status(self) -> str:
        return self.entry.status if self.entry else ""

    @property
    def label(self) -> str:
        return Status(self.entry.status).label if self.entry else "No decision recorded"

    @property
    def since_display(self) -> str:
        return format_partial_date(self.entry.since, self.entry.since_precision) if self.entry else ""

    @property
    def decision_url(self) -> str:
        return reverse("regulatory-decision", args=[self.entry.decision_id]) if self.entry else ""


@dataclass(frozen=True)
class MatrixRow:
    jurisdiction: Jurisdiction
    depth: int
    cells: list[MatrixCell]


@dataclass(frozen=True)
class UpcomingItem:
    date: dt.date
    date_display: str
    what: str  # "Target date" or "Takes effect"
    decision: Decision


@dataclass
class Matrix:
    as_of: dt.date
    today: dt.date
    therapies: list[Therapy]
    rows: list[MatrixRow]
    upcoming: list[UpcomingItem]
    latest: list[Decision]

    @property
    def is_today(self) -> bool:
        return self.as_of == self.today

    @property
    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in Status.values}
        for row in self.rows:
            for cell in row.cells:
                if cell.entry:
                    counts[cell.status] += 1
        return counts


def status_legend() -> list[dict[str, str]]:
    return [{"status": s.value, "label": s.label, "description": STATUS_DESCRIPTIONS[s]} for s in Status]


def matrix_build(*, as_of: dt.date, today: dt.date, upcoming_limit: int = 6, latest_limit: int = 5) -> Matrix:
    """The status matrix on `as_of`, with what is coming up and what happened
    last: seven queries (jurisdictions, therapies, statuses, the latest
    decisions, and the upcoming ones with their therapies and sources)."""
    therapies = list(Therapy.objects.all())
    tree = jurisdiction_tree(Jurisdiction.objects.select_related("parent"))
    statuses = status_matrix(as_of=as_of)
    rows = [
        MatrixRow(r.jurisdiction, r.depth,
                  [MatrixCell(t, statuses.get((r.jurisdiction.pk, t.pk))) for t in therapies])
        for r in tree
    ]
    latest = list(Decision.objects.filter(state__in=LIVE_STATES, announced_on__lte=today)
                  .select_related("jurisdiction").order_by("-announced_on", "-id")[:latest_limit])
    return Matrix(as_of=as_of, today=today, therapies=therapies, rows=rows,
                  upcoming=upcoming_list(today=today, limit=upcoming_limit), latest=latest)


def upcoming_list(*, today: dt.date, limit: int) -> list[UpcomingItem]:
    """Target and effective dates still ahead, soonest first (the same list
    as the iCalendar feed)."""
    return [
        UpcomingItem(u.on, format_partial_date(u.on, u.precision),
                     "Target date" if u.which == "target" else "Takes effect", u.decision)
        for u in upcoming_dates(today=today)[:limit]
    ]


# --- Timeline: parameters -----------------------------------------------------


@dataclass
class TimelineParams:
    therapy: Therapy
    therapies: list[Therapy]
    jurisdictions: list[Jurisdiction]  # every jurisdiction, for the form
    selected_codes: list[str]  # empty: every jurisdiction with decisions
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""

    @property
    def filtering(self) -> bool:
        return bool(self.kind or self.date_from or self.date_to or self.q)


def timeline_params_parse(params: Mapping[str, Any]) -> TimelineParams:
    """Check every parameter of /timeline/ (two queries: therapies and
    jurisdictions, which the form lists anyway)."""
    therapies = list(Therapy.objects.all())
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    slug = (params.get("therapy") or DEFAULT_THERAPY).strip()
    therapy = next((t for t in therapies if t.slug == slug), None)
    if therapy is None:
        if "therapy" in params or not therapies:
            known = ", ".join(t.slug for t in therapies) or "none recorded yet"
            raise BadParameter("therapy", f"there is no therapy “{slug}”. Known therapies: {known}.")
        therapy = therapies[0]  # the default slug is missing from this database
    codes = jurisdiction_param_parse(params, jurisdictions)
    kind = (params.get("kind") or "").strip()
    if kind and kind not in DecisionKind.values:
        raise BadParameter("kind", f"there is no kind of decision “{kind}”. Known kinds: "
                                   f"{', '.join(DecisionKind.values)}.")
    date_from = bound_param_parse("from", params.get("from"), end=False)
    date_to = bound_param_parse("to", params.get("to"), end=True)
    if date_from and date_to and date_from > date_to:
        raise BadParameter("from", "the start of the date range is after its end (to).")
    q = (params.get("q") or "").strip()
    if len(q) > 200:
        raise BadParameter("q", "the search text is longer than 200 characters.")
    return TimelineParams(therapy=therapy, therapies=therapies, jurisdictions=jurisdictions,
                          selected_codes=codes, kind=kind, date_from=date_from, date_to=date_to, q=q)


# --- Timeline: geometry --------------------------------------------------------

# Marks are shaped by the kind of decision; colour is kept for the status bands.
KIND_GROUPS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("review", "Application & review", "circle",
     (DecisionKind.DESIGNATION, DecisionKind.SUBMISSION, DecisionKind.ACCEPTANCE, DecisionKind.ADVISORY_VOTE)),
    ("outcome", "Approval or refusal", "diamond", (DecisionKind.APPROVAL, DecisionKind.REFUSAL)),
    ("law", "Law & scheduling", "square", (DecisionKind.SCHEDULING, DecisionKind.LEGISLATION)),
    ("access", "Access programme", "triangle", (DecisionKind.ACCESS_PROGRAMME,)),
    ("other", "Guidance, evidence & other", "triangle-down",
     (DecisionKind.GUIDANCE, DecisionKind.TRIAL_RESULT, DecisionKind.OTHER)),
]
KIND_SHAPE: dict[str, str] = {kind: shape for _, _, shape, kinds in KIND_GROUPS for kind in kinds}


def kind_legend() -> list[dict[str, Any]]:
    return [
        {"key": key, "label": label, "shape": shape, "path": shape_path(shape, 9, 9, 6),
         "kinds": [DecisionKind(k).label for k in kinds]}
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


def period_of(value: dt.date, precision: str) -> tuple[dt.date, dt.date]:
    """The first and last day a partial date can mean."""
    if precision == Precision.YEAR:
        return dt.date(value.year, 1, 1), dt.date(value.year, 12, 31)
    if precision == Precision.MONTH:
        first = value.replace(day=1)
        return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return value, value


def is_ahead(value: dt.date | None, precision: str, today: dt.date) -> bool:
    """A target or effective date not yet past: today counts, and so does the
    rest of a month or year given without a day."""
    return value is not None and period_of(value, precision)[1] >= today


def period_middle(value: dt.date, precision: str) -> dt.date:
    first, last = period_of(value, precision)
    return first + (last - first) / 2


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
        if d.status and self.which != "target":
            parts.append(f"Sets status: {d.get_status_display()}")
        if self.upcoming:
            parts.append("Upcoming")
        if not d.verified:
            parts.append(f"Unverified: {d.verification_note}" if d.verification_note else "Unverified")
        if self.retracted:
            parts.append("Retracted")
        return " · ".join(parts)


@dataclass
class Band:
    status: str
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
        return Status(self.status).label

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
    current: Decision | None = None  # the decision that sets the status in force today

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
class Tick:
    x: float
    label: str  # empty for a minor tick


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
BREAK_AFTER_DAYS = 8 * 365  # an empty stretch longer than this is cut short...
BREAK_KEEP_DAYS = 365  # ...keeping a year of air on each side...
BREAK_WIDTH_DAYS = 300  # ...and drawn as wide as this many days


def _matches(decision: Decision, params: TimelineParams) -> bool:
    if params.kind and decision.kind != params.kind:
        return False
    if params.date_from and decision.announced_on < params.date_from:
        return False
    if params.date_to and decision.announced_on > params.date_to:
        return False
    if params.q:
        needle = params.q.casefold()
        haystack = " ".join([decision.title, decision.summary, decision.regulator.name if decision.regulator else "",
                             decision.get_kind_display()]).casefold()
        if needle not in haystack:
            return False
    return True


def _window(decisions: list[Decision], params: TimelineParams, today: dt.date) -> tuple[dt.date, dt.date]:
    dates = [today]
    for d in decisions:
        dates += [x for x in (d.announced_on, d.effective_on, d.target_on) if x]
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


@dataclass(frozen=True)
class AxisBreak:
    """A long stretch with nothing on it, drawn short so that the decades
    before a therapy's modern history do not squeeze the years that matter."""

    x0: float
    x1: float
    start: dt.date
    end: dt.date

    @property
    def width(self) -> float:
        return round(self.x1 - self.x0, 1)

    @property
    def mid(self) -> float:
        return round((self.x0 + self.x1) / 2, 1)

    @property
    def title(self) -> str:
        return (f"{self.start.year}–{self.end.year}: nothing recorded in these lanes; "
                "the time axis is shortened here")


class TimeScale:
    """Dates to x positions: linear, except that each empty stretch longer
    than BREAK_AFTER_DAYS is cut down to BREAK_WIDTH_DAYS."""

    def __init__(self, start: dt.date, end: dt.date, busy: Iterable[dt.date], x0: float, x1: float) -> None:
        self.start, self.end, self.x0, self.x1 = start, end, x0, x1
        dates = sorted({d for d in busy if start <= d <= end} | {start, end})
        cuts = [
            (a + dt.timedelta(days=BREAK_KEEP_DAYS), b - dt.timedelta(days=BREAK_KEEP_DAYS))
            for a, b in zip(dates, dates[1:]) if (b - a).days > BREAK_AFTER_DAYS
        ]
        # (first day, last day, width in "days" on the axis, is a cut)
        self.segments: list[tuple[dt.date, dt.date, float, bool]] = []
        cursor = start
        for cut_start, cut_end in cuts:
            self.segments.append((cursor, cut_start, float((cut_start - cursor).days), False))
            self.segments.append((cut_start, cut_end, float(BREAK_WIDTH_DAYS), True))
            cursor = cut_end
        self.segments.append((cursor, end, float(max((end - cursor).days, 1)), False))
        self.total = sum(width for _, _, width, _ in self.segments)

    def x(self, day: dt.date) -> float:
        day = min(max(day, self.start), self.end)
        before = 0.0
        for first, last, width, _ in self.segments:
            if day <= last:
                fraction = (day - first).days / max((last - first).days, 1)
                return round(self.x0 + (self.x1 - self.x0) * (before + fraction * width) / self.total, 1)
            before += width
        return self.x1

    def in_cut(self, day: dt.date) -> bool:
        return any(cut and first < day < last for first, last, _, cut in self.segments)

    @property
    def breaks(self) -> list[AxisBreak]:
        return [AxisBreak(self.x(first), self.x(last), first, last) for first, last, _, cut in self.segments if cut]

    def ticks(self) -> list[Tick]:
        shown_years = sum((last - first).days for first, last, _, cut in self.segments if not cut) / 365.25
        step = 1 if shown_years <= 14 else 2 if shown_years <= 26 else 5 if shown_years <= 70 else 10
        ticks = []
        for year in range(self.start.year, self.end.year + 1):
            day = dt.date(year, 1, 1)
            if self.start <= day <= self.end and not self.in_cut(day) and (step <= 5 or year % 5 == 0):
                ticks.append(Tick(self.x(day), str(year) if year % step == 0 else ""))
        if shown_years <= 3:
            # A short window: mark the quarters too, so a month is readable.
            for year in range(self.start.year, self.end.year + 1):
                for month in (4, 7, 10):
                    day = dt.date(year, month, 1)
                    if self.start <= day <= self.end and not self.in_cut(day):
                        ticks.append(Tick(self.x(day), ""))
        return ticks


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


def _bands(decisions: list[Decision], start: dt.date, end: dt.date, today: dt.date,
           x_of) -> list[Band]:
    """Status from each status-setting decision's effective date to the next
    one's, in the order the selectors use to decide the status on a day."""
    setters = sorted(
        (d for d in decisions if d.state in LIVE_STATES and d.status and d.effective_on),
        key=lambda d: (d.effective_on, d.announced_on, d.pk),
    )
    bands: list[Band] = []
    for d, nxt in itertools.zip_longest(setters, setters[1:]):
        begin, finish = d.effective_on, nxt.effective_on if nxt else end
        if finish <= start or begin >= end or finish <= begin:
            continue
        x0, x1 = x_of(max(begin, start)), x_of(min(finish, end))
        if bands and bands[-1].status == d.status and bands[-1].x1 == x0 and bands[-1].upcoming == (begin > today):
            bands[-1].x1 = x1  # a decision confirming the status in force continues its band
            continue
        bands.append(Band(d.status, x0, x1, begin > today, d, d.effective_display))
    return bands


def _status_setter_on(decisions: list[Decision], day: dt.date) -> Decision | None:
    """The decision whose status is in force on `day` (same rule as selectors.status_matrix)."""
    setters = [d for d in decisions
               if d.state in LIVE_STATES and d.status and d.effective_on and d.effective_on <= day]
    return max(setters, key=lambda d: (d.effective_on, d.announced_on, d.pk), default=None)


def timeline_chart_build(*, lanes_decisions: list[tuple[Jurisdiction, list[Decision]]],
                         params: TimelineParams, today: dt.date) -> TimelineChart:
    """Lay out the SVG: one lane per jurisdiction, bands behind, marks on top."""
    everything = [d for _, ds in lanes_decisions for d in ds]
    start, end = _window(everything, params, today)
    busy = [today]
    for d in everything:
        for day, precision in ((d.announced_on, d.announced_precision), (d.effective_on, d.effective_precision),
                               (d.target_on, d.target_precision)):
            if day:
                busy += [*period_of(day, precision), period_middle(day, precision)]
    scale = TimeScale(start, end, busy, LABEL_WIDTH, CHART_WIDTH - RIGHT_PAD)
    x_of = scale.x
    plot_x0, plot_x1 = scale.x0, scale.x1

    lanes: list[Lane] = []
    y = TOP_PAD
    for jurisdiction, decisions in lanes_decisions:
        marks: list[Mark] = []
        for d in decisions:
            dimmed = params.filtering and not _matches(d, params)
            points = [("announced", d.announced_on, d.announced_precision, d.announced_display)]
            # Dates still ahead get a hollow mark of their own; like the
            # upcoming feed, "Aug 2026" stays ahead until August is over.
            if is_ahead(d.effective_on, d.effective_precision, today) and d.effective_on != d.announced_on:
                points.append(("effective", d.effective_on, d.effective_precision, d.effective_display))
            if is_ahead(d.target_on, d.target_precision, today):
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
                marks.append(Mark(d, day, display, which, KIND_SHAPE.get(d.kind, "circle"), x_of(middle),
                                  upcoming=upcoming, dimmed=dimmed, span=span))
        rows = _stack(marks)
        height = LANE_PAD * 2 + rows * ROW_HEIGHT
        for mark in marks:
            mark.y = y + LANE_PAD + ROW_HEIGHT * mark.row + ROW_HEIGHT / 2
        marks.sort(key=lambda m: (m.dimmed is False, m.x))  # dimmed first, so live marks draw on top
        lanes.append(Lane(jurisdiction, y, height, marks, _bands(decisions, start, end, today, x_of),
                          current=_status_setter_on(decisions, min(today, end))))
        y += height + LANE_GAP
    axis_y = y - LANE_GAP + 4
    return TimelineChart(
        width=CHART_WIDTH, height=axis_y + AXIS_HEIGHT, plot_x0=plot_x0, plot_x1=plot_x1, top=TOP_PAD,
        axis_y=axis_y, start=start, end=end, lanes=lanes, ticks=scale.ticks(), breaks=scale.breaks,
        today_x=x_of(today) if start <= today <= end else None,
    )


@dataclass
class JurisdictionChoice:
    jurisdiction: Jurisdiction
    depth: int
    count: int
    selected: bool


@dataclass
class Timeline:
    params: TimelineParams
    today: dt.date
    choices: list[JurisdictionChoice]
    chart: TimelineChart | None
    decisions: list[Decision]  # the filtered list under the chart
    total: int  # decisions in the selected lanes before kind/date/text filters
    kind_choices: list[tuple[str, str]] = field(default_factory=lambda: list(DecisionKind.choices))

    @property
    def selected_jurisdictions(self) -> list[Jurisdiction]:
        return [c.jurisdiction for c in self.choices if c.selected]


def timeline_build(*, params: TimelineParams, today: dt.date) -> Timeline:
    """Decisions for one therapy in the chosen jurisdictions, drawn and
    listed: three queries (decisions, their therapies, their sources) on top
    of the two of `timeline_params_parse`."""
    decisions = list(decision_list_public().filter(therapies=params.therapy).order_by("announced_on", "id"))
    by_jurisdiction: dict[int, list[Decision]] = {}
    for d in decisions:
        by_jurisdiction.setdefault(d.jurisdiction_id, []).append(d)
    tree = jurisdiction_tree(params.jurisdictions)
    if params.selected_codes:
        wanted = set(params.selected_codes)
    else:
        wanted = {r.jurisdiction.code for r in tree if r.jurisdiction.pk in by_jurisdiction}
    choices = [JurisdictionChoice(r.jurisdiction, r.depth, len(by_jurisdiction.get(r.jurisdiction.pk, [])),
                                  r.jurisdiction.code in wanted) for r in tree]
    # Lanes follow the order asked for in the URL (?jurisdiction=us,au puts
    # the US first), else the matrix order.
    order = params.selected_codes or [r.jurisdiction.code for r in tree]
    by_code = {j.code: j for j in params.jurisdictions}
    lanes_decisions = [(by_code[c], by_jurisdiction.get(by_code[c].pk, [])) for c in order if c in wanted]
    shown = [d for _, ds in lanes_decisions for d in ds]
    chart = None
    if shown:  # a lane asked for stays, empty, beside others; no decisions at all gets a message
        chart = timeline_chart_build(lanes_decisions=lanes_decisions, params=params, today=today)
    listed = sorted((d for d in shown if _matches(d, params)), key=lambda d: (d.announced_on, d.pk))
    return Timeline(params=params, today=today, choices=choices, chart=chart, decisions=listed, total=len(shown))


# --- Decision page ---------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    label: str
    before: str
    after: str


_FIELD_LABELS = {
    "announced_on": "Announced", "effective_on": "Effective", "target_on": "Target date",
    "announced_precision": "Announced date precision", "effective_precision": "Effective date precision",
    "target_precision": "Target date precision", "access_programme": "Access programme",
    "verification_note": "Verification note", "state": "State",
}


def _value_display(name: str, value: Any, diff: Mapping[str, list[Any]], side: int, decision: Decision) -> str:
    if value in (None, "", []):
        return "—"
    if name == "status":
        return Status(value).label if value in Status.values else str(value)
    if name == "kind":
        return DecisionKind(value).label if value in DecisionKind.values else str(value)
    if name == "state":
        return DecisionState(value).label if value in DecisionState.values else str(value)
    if name.endswith("_precision"):
        return Precision(value).label if value in Precision.values else str(value)
    if name.endswith("_on"):
        prefix = name[: -len("_on")]
        precision = diff.get(f"{prefix}_precision", [None, None])[side] or getattr(decision, f"{prefix}_precision")
        try:
            return format_partial_date(dt.date.fromisoformat(value), precision)
        except (TypeError, ValueError):
            return str(value)
    if name == "verified":
        return "Yes" if value else "No"
    if name == "therapies":
        return ", ".join(value)
    if name in ("jurisdiction", "regulator"):
        return str(value).upper()
    return str(value)


def _source_display(source: Mapping[str, Any]) -> str:
    grade = SourceGrade(source["grade"]).label if source.get("grade") in SourceGrade.values else source.get("grade")
    return f"{source.get('publisher')}: {source.get('title')} ({grade}) — {source.get('url')}"


def change_diff_rows(change: Change, decision: Decision) -> list[DiffRow]:
    """A Change's field diff as rows a person can read. Sources are compared
    by URL so that an added, removed or edited source reads as such."""
    if change.kind == ChangeKind.PUBLISH:
        return []
    rows: list[DiffRow] = []
    diff = change.diff or {}
    for name, pair in diff.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        before, after = pair
        if name == "sources":
            old = {s.get("url"): s for s in before or []}
            new = {s.get("url"): s for s in after or []}
            for url in sorted(set(old) | set(new)):
                if url not in new:
                    rows.append(DiffRow("Source removed", _source_display(old[url]), "—"))
                elif url not in old:
                    rows.append(DiffRow("Source added", "—", _source_display(new[url])))
                elif old[url] != new[url]:
                    rows.append(DiffRow("Source changed", _source_display(old[url]), _source_display(new[url])))
            continue
        label = _FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()
        rows.append(DiffRow(label, _value_display(name, before, diff, 0, decision),
                            _value_display(name, after, diff, 1, decision)))
    return rows


@dataclass(frozen=True)
class ChangeView:
    change: Change
    rows: list[DiffRow]


@dataclass
class DecisionPage:
    decision: Decision
    history: list[ChangeView]
    retraction: Change | None
    editor_view: bool

    @property
    def status_label(self) -> str:
        return self.decision.get_status_display() if self.decision.status else ""

    @property
    def status_description(self) -> str:
        return STATUS_DESCRIPTIONS.get(self.decision.status, "")


def decision_page_build(*, pk: int, user: Any) -> DecisionPage | None:
    """One decision with its sources and public history, or None when the
    public may not see it (drafts are for editors only). Four queries for
    the public; an editor's session adds a fixed few."""
    decision = (
        Decision.objects.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources",
                          Prefetch("changes", queryset=Change.objects.select_related("recorded_by").order_by("id")))
        .filter(pk=pk)
        .first()
    )
    if decision is None:
        return None
    editor_view = False
    if decision.state not in PUBLIC_STATES:
        if not user_is_editor(user):
            return None
        editor_view = True
    changes = list(decision.changes.all())
    retraction = next((c for c in reversed(changes) if c.kind == ChangeKind.RETRACT), None)
    history = [ChangeView(c, change_diff_rows(c, decision)) for c in changes]
    return DecisionPage(decision=decision, history=history, retraction=retraction, editor_view=editor_view)


# --- Access programmes --------------------------------------------------------------


@dataclass
class ProgrammeParams:
    jurisdictions: list[Jurisdiction]
    selected_codes: list[str]
    state: str


def programme_params_parse(params: Mapping[str, Any]) -> ProgrammeParams:
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    codes = jurisdiction_param_parse(params, jurisdictions)
    state = (params.get("state") or "").strip()
    if state and state not in ProgrammeState.values:
        raise BadParameter("state", f"“{state}” is not a programme state; use one of {', '.join(ProgrammeState.values)}.")
    return ProgrammeParams(jurisdictions=jurisdictions, selected_codes=codes, state=state)


@dataclass
class ProgrammeGroup:
    jurisdiction: Jurisdiction
    depth: int
    programmes: list[AccessProgramme]


def programme_groups_build(*, params: ProgrammeParams) -> list[ProgrammeGroup]:
    """Access programmes grouped by jurisdiction in matrix order: four queries
    (programmes, therapies, sources, public decisions)."""
    programmes = (
        AccessProgramme.objects.select_related("jurisdiction", "regulator")
        .prefetch_related(
            "therapies", "sources",
            Prefetch("decisions", queryset=Decision.objects.filter(state__in=PUBLIC_STATES).order_by("announced_on", "id"),
                     to_attr="public_decisions"),
        )
        .order_by("jurisdiction__position", "jurisdiction__code", "name")
    )
    if params.selected_codes:
        programmes = programmes.filter(jurisdiction__code__in=params.selected_codes)
    if params.state:
        programmes = programmes.filter(state=params.state)
    by_jurisdiction: dict[int, list[AccessProgramme]] = {}
    for p in programmes:
        by_jurisdiction.setdefault(p.jurisdiction_id, []).append(p)
    return [ProgrammeGroup(r.jurisdiction, r.depth, by_jurisdiction[r.jurisdiction.pk])
            for r in jurisdiction_tree(params.jurisdictions) if r.jurisdiction.pk in by_jurisdiction]
