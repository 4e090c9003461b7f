"""The status matrix: every cell of a set of jurisdictions and therapies on a date, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from regulatory.dates import period_end
from regulatory.models import LIVE_STATES, Decision, Jurisdiction, Therapy
from regulatory.selectors.cells import Cell, ControlInForce, Provenance, Route, RouteState, StageInForce
from regulatory.selectors.reference import therapy_list


def _latest_per_pair(*, field: str, as_of: dt.date, jurisdiction_ids, therapy_ids) -> list[tuple]:
    """(jurisdiction_id, therapy_id, value, effective_on, precision,
    decision_id, instrument, verified) of the latest live decision setting
    `field` in force on `as_of`, per pair, in one query."""
    through = Decision.therapies.through
    rows = through.objects.filter(
        decision__state__in=LIVE_STATES,
        decision__effective_on__lte=as_of,
    ).exclude(**{f"decision__{field}": ""})
    if jurisdiction_ids is not None:
        rows = rows.filter(decision__jurisdiction_id__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        rows = rows.filter(therapy_id__in=list(therapy_ids))
    order = ["-decision__effective_on", "-decision__announced_on", "-decision_id"]
    values = rows.values_list(
        "decision__jurisdiction_id",
        "therapy_id",
        f"decision__{field}",
        "decision__effective_on",
        "decision__effective_precision",
        "decision_id",
        "decision__control_instrument",
        "decision__verified",
    )
    if connection.vendor == "postgresql":
        values = values.order_by("decision__jurisdiction_id", "therapy_id", *order).distinct(
            "decision__jurisdiction_id", "therapy_id"
        )
    else:
        values = values.order_by(*order)
    latest: dict[tuple[int, int], tuple] = {}
    for row in values:
        latest.setdefault((row[0], row[1]), row)
    return list(latest.values())


def _route_state(programme, as_of: dt.date) -> str:
    from regulatory.models import ProgrammeState

    if programme.closed_on and programme.closed_on <= as_of:
        return RouteState.CLOSED
    if programme.known_until and as_of > period_end(programme.known_until, programme.known_until_precision):
        return RouteState.UNKNOWN_AFTER
    if programme.state == ProgrammeState.CLOSED and programme.closed_on is None:
        return RouteState.CLOSED_DATE_UNKNOWN
    if programme.state == ProgrammeState.PLANNED:
        return RouteState.PLANNED
    return RouteState.OPEN


def _within(on: dt.date | None, precision: str, as_of: dt.date) -> bool:
    """Whether `as_of` falls inside the period a partial date names, where the
    fact may or may not yet have happened."""
    from regulatory.models import Precision

    return on is not None and precision != Precision.DAY and on <= as_of <= period_end(on, precision)


def cell_grid(
    *, as_of: dt.date, jurisdictions: list[Jurisdiction], therapies: list[Therapy], today: dt.date | None = None
) -> dict[tuple[int, int], Cell]:
    """Every (jurisdiction, therapy) cell on `as_of`, in a fixed number of
    queries whatever the size of the data: coverage, control, stage,
    baselines, programmes (+ their therapies) and the three source tables."""
    from django.db.models import Count
    from django.utils import timezone

    from regulatory.models import (
        NON_ROUTE_KINDS,
        AccessProgramme,
        BaselineSource,
        ControlBaseline,
        ProgrammeSource,
        Source,
    )

    today = today or timezone.localdate()
    jids, tids = [j.pk for j in jurisdictions], [t.pk for t in therapies]
    covered: dict[int, set[int]] = {}
    for jid, tid in Jurisdiction.covers_therapies.through.objects.filter(jurisdiction_id__in=jids).values_list(
        "jurisdiction_id", "therapy_id"
    ):
        covered.setdefault(jid, set()).add(tid)
    controls = {
        (r[0], r[1]): r for r in _latest_per_pair(field="control", as_of=as_of, jurisdiction_ids=jids, therapy_ids=tids)
    }
    stages = {
        (r[0], r[1]): r
        for r in _latest_per_pair(field="approval_stage", as_of=as_of, jurisdiction_ids=jids, therapy_ids=tids)
    }
    baselines: dict[tuple[int, str], ControlBaseline] = {
        (b.jurisdiction_id, b.substance.casefold()): b for b in ControlBaseline.objects.filter(jurisdiction_id__in=jids)
    }
    programmes = list(
        AccessProgramme.objects.filter(jurisdiction_id__in=jids)
        .exclude(kind__in=NON_ROUTE_KINDS)
        .filter(Q(opened_on__isnull=True) | Q(opened_on__lte=as_of))
        .prefetch_related("therapies")
        .order_by("opened_on", "id")
    )
    # Sources behind the facts in use, counted by grade, one query per table.
    decision_ids = {r[5] for r in controls.values()} | {r[5] for r in stages.values()}
    grades: dict[tuple[str, int], list[tuple[str, bool, int]]] = {}
    for kind, model, fk, ids in (
        ("decision", Source, "decision_id", decision_ids),
        ("programme", ProgrammeSource, "programme_id", [p.pk for p in programmes]),
        ("baseline", BaselineSource, "baseline_id", [b.pk for b in baselines.values()]),
    ):
        for owner, grade, is_copy, count in (
            model.objects.filter(**{f"{fk}__in": list(ids)})
            .values_list(fk, "grade", "is_copy")
            .annotate(n=Count("id"))
            .order_by()
        ):
            grades.setdefault((kind, owner), []).append((grade, is_copy, count))

    facts = CellFacts(covered, controls, stages, baselines, programmes, grades)
    return cells_assemble(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, facts=facts, today=today)


@dataclass(frozen=True)
class CellFacts:
    """The facts `cells_assemble` builds cells from, as `cell_grid` reads them
    (regulatory.record_time builds the same from the record as it stood at a
    past moment): covered therapy ids per jurisdiction; per pair the latest
    control and stage rows (see `_latest_per_pair`); baselines by
    (jurisdiction id, casefolded substance); programmes opened by the date
    (with `therapies` readable); source counts by (table, owner id)."""

    covered: dict
    controls: dict
    stages: dict
    baselines: dict
    programmes: list
    grades: dict


def cells_assemble(
    *, as_of: dt.date, jurisdictions: list[Jurisdiction], therapies: list[Therapy], facts: CellFacts, today: dt.date
) -> dict[tuple[int, int], Cell]:
    """Every cell on `as_of` from `facts`: no queries."""
    from regulatory.models import GRADE_RANK, STALE_AFTER_DAYS

    covered, controls, stages, baselines, programmes, grades = (
        facts.covered,
        facts.controls,
        facts.stages,
        facts.baselines,
        facts.programmes,
        facts.grades,
    )
    stale_before = min(as_of, today) - dt.timedelta(days=STALE_AFTER_DAYS)
    cells: dict[tuple[int, int], Cell] = {}
    for j in jurisdictions:
        covered_ids = covered.get(j.pk, set())
        for t in therapies:
            key, substance = (j.pk, t.pk), t.substance.casefold()
            uncertain: list[str] = []
            fact_rows: list[tuple[str, int, bool]] = []  # (table, id, verified)
            control = None
            if key in controls:
                _, _, value, since, precision, decision_id, instrument, verified = controls[key]
                control = ControlInForce(value, instrument, since, precision, decision_id=decision_id)
                fact_rows.append(("decision", decision_id, verified))
                if _within(since, precision, as_of):
                    uncertain.append("control")
            else:
                baseline = baselines.get((j.pk, substance))
                if baseline and (baseline.since_on is None or baseline.since_on <= as_of):
                    control = ControlInForce(
                        baseline.control,
                        baseline.instrument,
                        baseline.since_on,
                        baseline.since_precision,
                        baseline_id=baseline.pk,
                        known_before=baseline.known_before,
                    )
                    fact_rows.append(("baseline", baseline.pk, baseline.verified))
                    if baseline.since_on is None and (baseline.known_before is None or as_of < baseline.known_before):
                        uncertain.append("control start date unknown")
                    elif _within(baseline.since_on, baseline.since_precision, as_of):
                        uncertain.append("control")
            stage = None
            if key in stages:
                _, _, value, since, precision, decision_id, _, verified = stages[key]
                stage = StageInForce(value, since, precision, decision_id)
                fact_rows.append(("decision", decision_id, verified))
                if _within(since, precision, as_of):
                    uncertain.append("approval stage")
            routes = []
            for p in programmes:
                if p.jurisdiction_id != j.pk:
                    continue
                if not (p.substance.casefold() == substance or any(pt.pk == t.pk for pt in p.therapies.all())):
                    continue  # general programmes (neither) give no route in a cell
                state = _route_state(p, as_of)
                routes.append(
                    Route(
                        p.pk,
                        p.slug,
                        p.name,
                        p.kind,
                        state,
                        p.capped,
                        p.capacity,
                        p.opened_on,
                        p.opened_precision,
                        p.closed_on,
                        p.closed_precision,
                        p.known_until,
                        p.known_until_precision,
                    )
                )
                fact_rows.append(("programme", p.pk, p.verified))
                if (
                    _within(p.opened_on, p.opened_precision, as_of)
                    or _within(p.closed_on, p.closed_precision, as_of)
                    or _within(p.known_until, p.known_until_precision, as_of)
                ):
                    uncertain.append(f"route {p.slug}")
            rows = [row for table, owner, _ in dict.fromkeys(fact_rows) for row in grades.get((table, owner), [])]
            total = sum(count for _, _, count in rows)
            best = min((grade for grade, _, _ in rows), key=lambda g: GRADE_RANK.get(g, 99), default=None)
            # "official (copy)" only when no original of the best grade is cited.
            best_copy = best is not None and all(is_copy for grade, is_copy, _ in rows if grade == best)
            cells[key] = Cell(
                jurisdiction_id=j.pk,
                therapy_id=t.pk,
                as_of=as_of,
                control=control,
                approval_stage=stage,
                access=tuple(routes),
                covered=j.covers(t, covered_ids),
                certain=not uncertain,
                uncertain_because=tuple(uncertain),
                provenance=Provenance(best, total, any(not verified for _, _, verified in fact_rows), best_copy),
                reviewed_to=j.reviewed_to,
                stale=j.reviewed_to is None or j.reviewed_to < stale_before,
            )
    return cells


def status_matrix(
    *, as_of: dt.date, jurisdiction_ids: Iterable[int] | None = None, therapy_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], Cell]:
    """Every (jurisdiction, therapy) cell on `as_of` (see `cell_grid`)."""
    jurisdictions = Jurisdiction.objects.order_by("position", "code")
    therapies = therapy_list()
    if jurisdiction_ids is not None:
        jurisdictions = jurisdictions.filter(pk__in=list(jurisdiction_ids))
    if therapy_ids is not None:
        therapies = therapies.filter(pk__in=list(therapy_ids))
    return cell_grid(as_of=as_of, jurisdictions=list(jurisdictions), therapies=list(therapies))


def status_for(*, jurisdiction: Jurisdiction, therapy: Therapy, as_of: dt.date) -> Cell:
    """The cell of one (jurisdiction, therapy) pair on `as_of`."""
    return status_matrix(as_of=as_of, jurisdiction_ids=[jurisdiction.pk], therapy_ids=[therapy.pk])[
        (jurisdiction.pk, therapy.pk)
    ]
