"""The status matrix on the home page: one row per jurisdiction, one cell per
therapy, with what is coming up and what happened last."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse

from regulatory.models import LIVE_STATES, STATUS_DESCRIPTIONS, Decision, Jurisdiction, Status, Therapy, format_partial_date
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.selectors import StatusEntry, status_matrix, upcoming_dates

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
