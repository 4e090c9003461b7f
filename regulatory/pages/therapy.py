"""/therapies/<slug>/: one therapy in every jurisdiction (the matrix's column,
each cell in its three dimensions) and the catalysts ahead for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from regulatory.models import STALE_AFTER_DAYS, Jurisdiction, Therapy
from regulatory.pages.calendar import Catalyst, decision_catalysts, programme_catalysts, programmes_ahead
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.matrix import MatrixCell, MatrixRow
from regulatory.selectors import cell_grid, therapy_list, upcoming_dates


@dataclass
class TherapyPage:
    therapy: Therapy
    as_of: dt.date
    today: dt.date
    rows: list[MatrixRow]  # one cell each: this therapy's
    catalysts: list[Catalyst]

    @property
    def is_today(self) -> bool:
        return self.as_of == self.today

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.cells[0].tone] = counts.get(row.cells[0].tone, 0) + 1
        return counts


def therapy_page_build(*, slug: str, as_of: dt.date, today: dt.date) -> TherapyPage | None:
    """The therapy's page on `as_of`, or None for an unknown slug. A fixed
    number of queries whatever the size of the data: therapies,
    jurisdictions, the cells (see `cell_grid`), decisions ahead (+
    therapies, sources), programmes ahead (+ therapies)."""
    therapy = next((t for t in therapy_list() if t.slug == slug), None)
    if therapy is None:
        return None
    jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    grid = cell_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=[therapy], today=today)
    stale_before = min(as_of, today) - dt.timedelta(days=STALE_AFTER_DAYS)
    rows = [
        MatrixRow(
            r.jurisdiction,
            r.depth,
            [MatrixCell(therapy, grid[(r.jurisdiction.pk, therapy.pk)])],
            stale=r.jurisdiction.reviewed_to is None or r.jurisdiction.reviewed_to < stale_before,
        )
        for r in jurisdiction_tree(jurisdictions)
    ]
    announced_by = as_of if as_of < today else None
    decisions = dict.fromkeys(
        u.decision for u in upcoming_dates(today=as_of, therapy_ids=[therapy.pk], announced_by=announced_by)
    )
    # A programme for the therapy, or for its substance (every therapy with it).
    programmes = (
        programmes_ahead(today=as_of).filter(Q(therapies=therapy) | Q(substance__iexact=therapy.substance)).distinct()
    )
    catalysts = decision_catalysts(decisions, today=as_of) + programme_catalysts(programmes, today=as_of)
    return TherapyPage(
        therapy=therapy, as_of=as_of, today=today, rows=rows, catalysts=sorted(catalysts, key=lambda c: c.sort_key)
    )
