"""/jurisdictions/<code>/: everything about one jurisdiction: each therapy's
status in its three dimensions (the matrix's cells, `selectors.cell_grid`),
its regulators, its access programmes, how far it was reviewed, the
catalysts ahead, every decision by year, and the member states or US states
under it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from regulatory.models import (
    STALE_AFTER_DAYS,
    AccessProgramme,
    Decision,
    Jurisdiction,
    Precision,
    Regulator,
    format_partial_date,
)
from regulatory.pages.calendar import Catalyst, decision_catalysts, programme_catalysts
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.matrix import MatrixCell
from regulatory.selectors import access_programme_list, cell_grid, decision_list_public, therapy_list


@dataclass
class JurisdictionPage:
    jurisdiction: Jurisdiction
    as_of: dt.date
    today: dt.date
    cells: list[MatrixCell]
    stale: bool
    regulators: list[Regulator]
    programmes: list[AccessProgramme]
    decisions: list[Decision]
    catalysts: list[Catalyst]
    members: list[Jurisdiction]

    @property
    def is_today(self) -> bool:
        return self.as_of == self.today

    @property
    def reviewed_display(self) -> str:
        return format_partial_date(self.jurisdiction.reviewed_to, Precision.DAY)

    @property
    def members_label(self) -> str:
        """'US states' under the US, 'Member states' under a union."""
        return "States" if self.jurisdiction.code == "us" else "Member states"


def jurisdiction_page_build(*, code: str, as_of: dt.date, today: dt.date) -> JurisdictionPage | None:
    """The jurisdiction's page on `as_of`, or None for an unknown code. A
    fixed number of queries whatever the size of the data: jurisdictions,
    therapies, the cells (see `cell_grid`), regulators, programmes (+
    therapies, sources), decisions (+ therapies, sources)."""
    jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    jurisdiction = next((j for j in jurisdictions if j.code == code), None)
    if jurisdiction is None:
        return None
    therapies = list(therapy_list())
    grid = cell_grid(as_of=as_of, jurisdictions=[jurisdiction], therapies=therapies, today=today)
    stale_before = min(as_of, today) - dt.timedelta(days=STALE_AFTER_DAYS)
    regulators = list(Regulator.objects.filter(jurisdiction=jurisdiction).order_by("name"))
    programmes = list(access_programme_list().filter(jurisdiction=jurisdiction))
    decisions = list(decision_list_public().filter(jurisdiction=jurisdiction).order_by("announced_on", "id"))
    # Historical views are historical, as the matrix's "coming up": on a past
    # date, the decisions announced by then and what was ahead of it.
    decisions = [d for d in decisions if as_of >= today or d.announced_on <= as_of]
    catalysts = decision_catalysts(decisions, today=as_of) + programme_catalysts(programmes, today=as_of)
    below = [r.jurisdiction for r in jurisdiction_tree(jurisdictions) if r.jurisdiction.parent_id == jurisdiction.pk]
    return JurisdictionPage(
        jurisdiction=jurisdiction,
        as_of=as_of,
        today=today,
        cells=[MatrixCell(t, grid[(jurisdiction.pk, t.pk)]) for t in therapies],
        stale=jurisdiction.reviewed_to is None or jurisdiction.reviewed_to < stale_before,
        regulators=regulators,
        programmes=programmes,
        decisions=decisions,
        catalysts=sorted(catalysts, key=lambda c: c.sort_key),
        members=below,
    )
