"""How a change moves the matrix cells it concerns (alerts say the previous
and the new state), and how digests word their period (issue 10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from regulatory.models import Change, ChangeKind, Jurisdiction, Therapy

# --- How a change moves a matrix cell, and digest wording (issue 10) --------


@dataclass(frozen=True)
class CellTransition:
    """One (jurisdiction, therapy) cell a change moves: its headline the day
    before the date the decision takes effect, and from that date on."""

    jurisdiction: str
    therapy: str
    before: str
    after: str
    on_display: str  # as precise as the date is known: "1 Jul 2023", "Feb 2027"


def _transition_date(change: Change) -> tuple[dt.date, str] | None:
    """The date from which a change's decision moves its cells, with its
    precision: when it takes effect (control, approval stage), else when its
    access programme opens. None when it moves no cell, or when a retraction
    took it out (what it showed before is the record-time view's to tell)."""
    decision = change.decision
    if change.kind == ChangeKind.RETRACT:
        return None
    if decision.sets_status and decision.effective_on:
        return decision.effective_on, decision.effective_precision
    programme = decision.access_programme if decision.access_programme_id else None
    if programme is not None and programme.opened_on:
        return programme.opened_on, programme.opened_precision
    return None


def change_cell_transitions(changes: Iterable[Change]) -> dict[int, list[CellTransition]]:
    """For each change (loaded as `changes_for_delivery` loads them), the
    cells whose headline differs between the day before its decision takes
    effect and that day, in matrix order. One `cell_grid` per distinct date
    over the jurisdictions and therapies concerned (two per date at most):
    an email is rendered once per content, whatever its number of recipients."""
    from regulatory.models import format_partial_date
    from regulatory.selectors import cell_grid

    plans: dict[int, tuple[dt.date, str]] = {}
    needed: dict[dt.date, tuple[dict[int, Jurisdiction], dict[int, Therapy]]] = {}
    changes = list(changes)
    for change in changes:
        when = _transition_date(change)
        if when is None or not list(change.decision.therapies.all()):
            continue
        plans[change.pk] = when
        for on in (when[0] - dt.timedelta(days=1), when[0]):
            places, therapies = needed.setdefault(on, ({}, {}))
            places[change.decision.jurisdiction_id] = change.decision.jurisdiction
            therapies.update({t.pk: t for t in change.decision.therapies.all()})
    grids = {
        on: cell_grid(as_of=on, jurisdictions=list(places.values()), therapies=list(therapies.values()))
        for on, (places, therapies) in needed.items()
    }
    result: dict[int, list[CellTransition]] = {}
    for change in changes:
        if change.pk not in plans:
            continue
        on, precision = plans[change.pk]
        before_grid, after_grid = grids[on - dt.timedelta(days=1)], grids[on]
        decision = change.decision
        moved = []
        for therapy in sorted(decision.therapies.all(), key=lambda t: (t.position, t.slug)):
            key = (decision.jurisdiction_id, therapy.pk)
            before, after = before_grid[key].headline, after_grid[key].headline
            if before != after:
                moved.append(
                    CellTransition(
                        decision.jurisdiction.name, therapy.name, before, after, format_partial_date(on, precision)
                    )
                )
        result[change.pk] = moved
    return result


def digests_sent_before(*, subscriber_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(subscriber id, cadence) of the digests these subscribers were ever
    sent (one query): a digest not in it is their first of that cadence,
    which cannot say "since your last digest"."""
    from tracker.models import DigestDelivery

    return set(
        DigestDelivery.objects.filter(subscriber_id__in=list(subscriber_ids), sent_at__isnull=False)
        .values_list("subscriber_id", "cadence")
        .distinct()
    )


def digest_period_display(period: str) -> str:
    """A digest's period as the pages write dates: '2 Dec 2026', and a week
    as 'week 49, 30 Nov – 6 Dec 2026'. Anything else is shown as it is."""
    from regulatory.models import Precision, format_partial_date

    try:
        if "-W" in period:
            year, week = period.split("-W")
            monday = dt.date.fromisocalendar(int(year), int(week), 1)
            sunday = monday + dt.timedelta(days=6)
            start = format_partial_date(monday, Precision.DAY)
            if monday.year == sunday.year:
                start = start.removesuffix(f" {monday.year}")
                if monday.month == sunday.month:
                    start = start.removesuffix(f" {monday:%b}")
            return f"week {int(week)}, {start} – {format_partial_date(sunday, Precision.DAY)}"
        return format_partial_date(dt.date.fromisoformat(period), Precision.DAY)
    except ValueError:
        return period
