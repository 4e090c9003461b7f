"""/calendar/: the catalysts ahead, grouped by month. Also the "catalysts
ahead" of the jurisdiction and therapy pages, from rows they fetched anyway.

A catalyst is a date still ahead (its whole period, for a date known only to
the month or year: `dates.is_ahead`) that the record holds:
- a decision's target date: a PDUFA goal date, an advisory committee
  meeting, a consultation closing, a statutory deadline, ...;
- a decision's effective date: a rule or a rescheduling coming into force;
- an access programme's dates: its opening (planned), its closing, or the
  date it is listed to run until (its state after it is unknown).
Dates are shown at their precision ("Feb 2027", "2027").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from regulatory.dates import is_ahead
from regulatory.models import (
    LIVE_STATES,
    NON_ROUTE_KINDS,
    STALE_AFTER_DAYS,
    AccessProgramme,
    Decision,
    DecisionKind,
    Jurisdiction,
    Precision,
    ProgrammeState,
    Therapy,
    format_partial_date,
)
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.selectors import upcoming_dates


@dataclass(frozen=True)
class Catalyst:
    on: dt.date
    precision: str
    what: str  # "PDUFA goal date", "Takes effect", "Programme closes", ...
    title: str
    url: str
    jurisdiction: Jurisdiction
    therapies: tuple[Therapy, ...]
    decision: Decision | None = None
    programme: AccessProgramme | None = None

    @property
    def display(self) -> str:
        return format_partial_date(self.on, self.precision)

    @property
    def precision_note(self) -> str:
        if self.precision == Precision.MONTH:
            return "day not known"
        if self.precision == Precision.YEAR:
            return "month and day not known"
        return ""

    @property
    def sort_key(self) -> tuple:
        return (self.on, self.jurisdiction.position, self.title)


@dataclass(frozen=True)
class MonthGroup:
    key: str  # "2027-02", or "2027" for dates known only to the year
    label: str  # "February 2027", "2027 (month not known)"
    catalysts: list[Catalyst]


def _target_what(decision: Decision) -> str:
    """What a target date is, by the kind of decision (and, for a PDUFA
    date, the regulator: only the FDA sets those)."""
    regulator = decision.regulator.code if decision.regulator else ""
    if decision.kind in (DecisionKind.SUBMISSION, DecisionKind.ACCEPTANCE) and regulator == "fda":
        return "PDUFA goal date"
    if decision.kind == DecisionKind.ADVISORY_VOTE:
        return "Advisory committee meeting"
    if decision.kind == DecisionKind.GUIDANCE:
        return "Target date (guidance or consultation)"
    return f"Target date ({decision.get_kind_display().lower()})"


def decision_catalysts(decisions: Iterable[Decision], *, today: dt.date) -> list[Catalyst]:
    """Target and effective dates ahead of `today` among live `decisions`
    (their therapies prefetched)."""
    out: list[Catalyst] = []
    for d in decisions:
        if d.state not in LIVE_STATES:
            continue
        for which in ("target", "effective"):
            on, precision = getattr(d, f"{which}_on"), getattr(d, f"{which}_precision")
            if on is None or not is_ahead(on, precision, today):
                continue
            what = _target_what(d) if which == "target" else "Takes effect"
            out.append(
                Catalyst(
                    on,
                    precision,
                    what,
                    d.title,
                    d.get_absolute_url(),
                    d.jurisdiction,
                    tuple(d.therapies.all()),
                    decision=d,
                )
            )
    return out


def programme_catalysts(programmes: Iterable[AccessProgramme], *, today: dt.date) -> list[Catalyst]:
    """Openings, closings and "listed to run until" dates ahead of `today`
    (programmes with their jurisdiction and therapies fetched)."""
    out: list[Catalyst] = []
    for p in programmes:
        url = f"{reverse('regulatory-programmes')}#programme-{p.slug}"
        dates = []
        if p.state == ProgrammeState.PLANNED and p.opened_on:
            dates.append((p.opened_on, p.opened_precision, "Programme opens"))
        if p.closed_on:
            dates.append((p.closed_on, p.closed_precision, "Programme closes"))
        if p.known_until and not p.closed_on:
            dates.append((p.known_until, p.known_until_precision, "Programme listed to run until"))
        for on, precision, what in dates:
            if is_ahead(on, precision, today):
                out.append(
                    Catalyst(on, precision, what, p.name, url, p.jurisdiction, tuple(p.therapies.all()), programme=p)
                )
    return out


def programmes_ahead(*, today: dt.date):
    """Programmes with an opening, closing or end date that may be ahead
    (whole-period check in Python), with jurisdiction and therapies: two queries."""
    year_start = today.replace(month=1, day=1)
    return (
        AccessProgramme.objects.exclude(kind__in=NON_ROUTE_KINDS)
        .filter(
            Q(state=ProgrammeState.PLANNED, opened_on__gte=year_start)
            | Q(closed_on__gte=year_start)
            | Q(closed_on__isnull=True, known_until__gte=year_start)
        )
        .select_related("jurisdiction")
        .prefetch_related("therapies")
    )


def month_groups(catalysts: Iterable[Catalyst]) -> list[MonthGroup]:
    """Catalysts by month, soonest first. A date known only to the year gets
    a group of its own at the start of that year."""
    groups: dict[tuple[int, int], list[Catalyst]] = {}
    for c in sorted(catalysts, key=lambda c: c.sort_key):
        month = 0 if c.precision == Precision.YEAR else c.on.month
        groups.setdefault((c.on.year, month), []).append(c)
    out = []
    for (year, month), items in sorted(groups.items()):
        if month:
            first = dt.date(year, month, 1)
            out.append(MonthGroup(first.strftime("%Y-%m"), first.strftime("%B %Y"), items))
        else:
            out.append(MonthGroup(str(year), f"{year} (month not known)", items))
    return out


@dataclass(frozen=True)
class ReviewRow:
    jurisdiction: Jurisdiction
    depth: int
    stale: bool

    @property
    def reviewed_display(self) -> str:
        return format_partial_date(self.jurisdiction.reviewed_to, Precision.DAY)


def review_rows(jurisdictions: list[Jurisdiction], *, today: dt.date) -> list[ReviewRow]:
    """Each jurisdiction's review date, stale as on the matrix (not reviewed
    in the STALE_AFTER_DAYS before today)."""
    stale_before = today - dt.timedelta(days=STALE_AFTER_DAYS)
    return [
        ReviewRow(
            r.jurisdiction, r.depth, r.jurisdiction.reviewed_to is None or r.jurisdiction.reviewed_to < stale_before
        )
        for r in jurisdiction_tree(jurisdictions)
    ]


@dataclass
class Calendar:
    today: dt.date
    groups: list[MonthGroup]
    reviews: list[ReviewRow]

    @property
    def count(self) -> int:
        return sum(len(g.catalysts) for g in self.groups)


def calendar_build(*, today: dt.date) -> Calendar:
    """Every catalyst ahead of `today`, by month, and the review dates (the
    limit of what "nothing on record" means). Six queries: decisions ahead
    (+ therapies, sources), programmes ahead (+ therapies), jurisdictions."""
    decisions = [u.decision for u in upcoming_dates(today=today)]
    catalysts = decision_catalysts(dict.fromkeys(decisions), today=today)
    catalysts += programme_catalysts(programmes_ahead(today=today), today=today)
    jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    return Calendar(today=today, groups=month_groups(catalysts), reviews=review_rows(jurisdictions, today=today))
