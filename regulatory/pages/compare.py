"""/compare/: the matrix with every cell that changed between two dates
marked (old → new, per dimension), and the decisions and access-programme
changes in between (`regulatory.compare`); and the record-time parameter
(`recorded_as_of`) of the analysts' pages (`regulatory.record_time`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode

from regulatory import compare, record_time
from regulatory.models import Jurisdiction, Therapy
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.parameters import BadParameter, DayField

# "What changed since …" on the matrix looks this far back.
SINCE_DAYS = 365


def recorded_param_parse(params: Mapping[str, Any]) -> record_time.RecordTime | None:
    """`recorded_as_of` of a page, None when absent (one query when given)."""
    try:
        return record_time.recorded_as_of_parse(params.get(record_time.PARAM))
    except record_time.BadRecordTime as error:
        raise BadParameter(record_time.PARAM, str(error)) from None


def _day(params: Mapping[str, Any], name: str) -> dt.date | None:
    try:
        return DayField().clean(params.get(name))
    except ValidationError as error:
        raise BadParameter(name, error.messages[0]) from None


@dataclass(frozen=True)
class CompareParams:
    date_from: dt.date
    date_to: dt.date
    recorded: record_time.RecordTime | None


def compare_params_parse(params: Mapping[str, Any], *, today: dt.date) -> CompareParams:
    """`from` and `to` (YYYY-MM-DD; `to` defaults to today, or to the record
    time's date, `from` to a year before `to`) and `recorded_as_of`."""
    date_from, date_to = _day(params, "from"), _day(params, "to")
    recorded = recorded_param_parse(params)
    date_to = date_to or (recorded.date if recorded else today)
    date_from = date_from or since_date(date_to)
    if date_from > date_to:
        raise BadParameter("from", f"the first date ({date_from.isoformat()}) is after the second (to).")
    return CompareParams(date_from=date_from, date_to=date_to, recorded=recorded)


def since_date(date_to: dt.date) -> dt.date:
    return max(date_to - dt.timedelta(days=SINCE_DAYS), dt.date(1900, 1, 1))


@dataclass(frozen=True)
class CompareCell:
    therapy: Therapy
    comparison: compare.CellComparison

    @property
    def cell(self):
        return self.comparison.after

    @property
    def tone(self) -> str:
        return self.comparison.after.tone

    @property
    def changes(self) -> list[compare.DimensionChange]:
        """The dimensions that changed, the headline left out (it is shown whole)."""
        return [c for c in self.comparison.changes if c.dimension != "headline"]


@dataclass(frozen=True)
class CompareRow:
    jurisdiction: Jurisdiction
    depth: int
    cells: list[CompareCell]

    @property
    def changed(self) -> bool:
        return any(c.comparison.changed for c in self.cells)


@dataclass
class ComparePage:
    params: CompareParams
    comparison: compare.Comparison
    rows: list[CompareRow]

    @property
    def changed_count(self) -> int:
        return len(self.comparison.changed)

    @property
    def api_url(self) -> str:
        return f"{reverse('api-status-changes')}?{urlencode(self.query)}"

    @property
    def query(self) -> dict[str, str]:
        query = {"from": self.params.date_from.isoformat(), "to": self.params.date_to.isoformat()}
        if self.params.recorded:
            query[record_time.PARAM] = self.params.recorded.raw
        return query


def compare_page_build(*, params: CompareParams, today: dt.date) -> ComparePage:
    comparison = compare.compare_build(
        date_from=params.date_from, date_to=params.date_to, recorded=params.recorded, today=today
    )
    rows = [
        CompareRow(
            r.jurisdiction,
            r.depth,
            [CompareCell(t, comparison.cells[(r.jurisdiction.pk, t.pk)]) for t in comparison.therapies],
        )
        for r in jurisdiction_tree(comparison.jurisdictions)
    ]
    return ComparePage(params=params, comparison=comparison, rows=rows)


def matrix_compare_links(*, as_of: dt.date, recorded: record_time.RecordTime | None) -> dict[str, Any]:
    """What the matrix offers towards /compare/: the dates for the "compare
    with…" form and the "what changed since <date>" link."""
    since = since_date(as_of)
    query = {"from": since.isoformat(), "to": as_of.isoformat()}
    if recorded:
        query[record_time.PARAM] = recorded.raw
    return {"since": since, "since_url": f"{reverse('regulatory-compare')}?{urlencode(query)}", "to": as_of}
