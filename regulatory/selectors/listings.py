"""Status rows, upcoming dates and the reference-data lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from regulatory.dates import is_ahead
from regulatory.models import LIVE_STATES, Decision, Jurisdiction, Therapy
from regulatory.selectors.cells import Cell
from regulatory.selectors.decisions import decision_list_api, decision_list_for_therapies
from regulatory.selectors.reference import therapy_list
from regulatory.selectors.status import cell_grid


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


def decision_page_url(decision_id: int) -> str:
    """Absolute link to the decision's public page, /decisions/<id>/."""
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("regulatory-decision", args=[decision_id])
    except NoReverseMatch:  # the HTML pages are not mounted (e.g. an API-only deployment)
        path = f"/decisions/{decision_id}/"
    return f"{settings.SITE_URL}{path}"
