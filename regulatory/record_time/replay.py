"""Record time: decisions replayed from their Changes; programmes, baselines, jurisdictions and sources from their simple-history tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from regulatory import selectors
from regulatory.models import (
    LIVE_STATES,
    NON_ROUTE_KINDS,
    AccessProgramme,
    BaselineSource,
    Change,
    ChangeKind,
    ControlBaseline,
    DecisionState,
    Jurisdiction,
    ProgrammeSource,
    Source,
    Therapy,
)

# --- Decisions, replayed from their Changes ------------------------------------


_STATE_AFTER: dict[str, str] = {
    ChangeKind.PUBLISH: DecisionState.PUBLISHED,
    ChangeKind.AMEND: DecisionState.AMENDED,
    ChangeKind.CORRECT: DecisionState.CORRECTED,
    ChangeKind.RETRACT: DecisionState.RETRACTED,
}


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass
class RecordedDecision:
    """A decision as its Changes recorded it by R: `fields` is the snapshot
    (values as the diffs hold them: codes, slugs, ISO dates)."""

    id: int
    fields: dict[str, Any] = field(default_factory=dict)
    state: str = DecisionState.PUBLISHED
    change_ids: list[int] = field(default_factory=list)

    def get(self, name: str, default: Any = "") -> Any:
        value = self.fields.get(name)
        return default if value is None else value

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def jurisdiction_code(self) -> str:
        return str(self.get("jurisdiction"))

    @property
    def therapy_slugs(self) -> list[str]:
        return list(self.get("therapies", []))

    def date(self, name: str) -> dt.date | None:
        return _date(self.fields.get(f"{name}_on"))

    def precision(self, name: str) -> str:
        return self.get(f"{name}_precision", "day") or "day"


# The fields the cells and the compare lists read from a replayed decision:
# only these keys of each diff are fetched (the sources and the summary,
# the bulk of a publish diff, stay in the database).
REPLAYED_FIELDS = (
    "jurisdiction",
    "therapies",
    "kind",
    "title",
    "announced_on",
    "announced_precision",
    "effective_on",
    "effective_precision",
    "control",
    "control_instrument",
    "approval_stage",
    "verified",
)


def decisions_recorded(at: dt.datetime, *, decision_ids: Iterable[int] | None = None) -> dict[int, RecordedDecision]:
    """Every decision with a Change recorded by `at`, as its Changes left it
    (its REPLAYED_FIELDS; one query)."""
    from django.db.models.fields.json import KeyTransform

    changes = Change.objects.filter(recorded_at__lte=at)
    if decision_ids is not None:
        changes = changes.filter(decision_id__in=list(decision_ids))
    keys = {f"diff_{name}": KeyTransform(name, "diff") for name in REPLAYED_FIELDS}
    rows = changes.annotate(**keys).order_by("id").values_list("id", "decision_id", "kind", *keys)
    out: dict[int, RecordedDecision] = {}
    for change_id, decision_id, kind, *pairs in rows:
        decision = out.setdefault(decision_id, RecordedDecision(id=decision_id))
        for name, pair in zip(REPLAYED_FIELDS, pairs, strict=True):
            if isinstance(pair, list | tuple) and len(pair) == 2:  # None: not in this diff
                decision.fields[name] = pair[1]
        decision.state = _STATE_AFTER.get(kind, decision.state)
        decision.change_ids.append(change_id)
    return out


def _latest_recorded(
    decisions: Mapping[int, RecordedDecision],
    *,
    name: str,
    as_of: dt.date,
    jurisdiction_ids: Mapping[str, int],
    therapy_ids: Mapping[str, int],
) -> dict[tuple[int, int], tuple]:
    """As `selectors._latest_per_pair`, over the replayed decisions: per pair,
    the latest live decision setting `name` in force on `as_of` (effective
    on or before it; then the later announcement, then the later record)."""
    best: dict[tuple[int, int], tuple[tuple, tuple]] = {}
    for d in decisions.values():
        value, effective = d.get(name), d.date("effective")
        jid = jurisdiction_ids.get(d.jurisdiction_code)
        if not d.is_live or not value or effective is None or effective > as_of or jid is None:
            continue
        order = (effective, d.date("announced") or dt.date.min, d.id)
        row = (
            jid,
            None,
            value,
            effective,
            d.precision("effective"),
            d.id,
            d.get("control_instrument"),
            bool(d.get("verified", True)),
        )
        for slug in d.therapy_slugs:
            tid = therapy_ids.get(slug)
            if tid is None:
                continue
            key = (jid, tid)
            if key not in best or order > best[key][0]:
                best[key] = (order, (jid, tid, *row[2:]))
    return {key: row for key, (_, row) in best.items()}


# --- Objects with a simple history ------------------------------------------------


def _history_rows(model: Any, *, at: dt.datetime, **filters: Any) -> tuple[dict[int, Any], set[int], set[int]]:
    """One query over `model`'s history: (the latest row by `at` per id,
    unless a deletion; the ids with a row after `at`; the ids with any row)."""
    by_id: dict[int, Any] = {}
    later: set[int] = set()
    seen: set[int] = set()
    for row in model.history.filter(**filters).order_by("history_date", "history_id"):
        seen.add(row.id)
        if row.history_date <= at:
            by_id[row.id] = row
        else:
            later.add(row.id)
    return {pk: row for pk, row in by_id.items() if row.history_type != "-"}, later, seen


def _overlay(objects: list, model: Any, *, at: dt.datetime, names: Iterable[str]) -> list:
    """`objects` as they were at `at` (see the module's docstring): values
    from history where they changed after it; left out when they did not
    exist yet (or were deleted by then). Mutates the objects given."""
    rows, later, seen = _history_rows(model, at=at, id__in=[o.pk for o in objects])
    kept = []
    for obj in objects:
        if obj.pk not in seen:
            kept.append(obj)  # no history at all: nothing says it differed
            continue
        row = rows.get(obj.pk)
        if row is None:
            continue
        if obj.pk in later:
            for name in names:
                setattr(obj, name, getattr(row, name))
        kept.append(obj)
    return kept


_PROGRAMME_FIELDS = (
    "name",
    "kind",
    "substance",
    "opened_on",
    "opened_precision",
    "closed_on",
    "closed_precision",
    "known_until",
    "known_until_precision",
    "state",
    "capped",
    "capacity",
    "verified",
)
_BASELINE_FIELDS = ("substance", "control", "instrument", "since_on", "since_precision", "known_before", "verified")
_JURISDICTION_FIELDS = ("reviewed_to", "covers_substances")


def jurisdictions_recorded(jurisdictions: list[Jurisdiction], *, at: dt.datetime) -> list[Jurisdiction]:
    """The jurisdictions with their review dates and coverage at `at` (one
    query; the objects given are updated in place)."""
    return _overlay(jurisdictions, Jurisdiction, at=at, names=_JURISDICTION_FIELDS)


def _grades_recorded(
    model: Any, fk: str, owners: Iterable[int], *, at: dt.datetime
) -> dict[int, list[tuple[str, bool, int]]]:
    rows, _, _ = _history_rows(model, at=at, **{f"{fk}__in": list(owners)})
    counts: dict[tuple[int, str, bool], int] = {}
    for row in rows.values():
        key = (getattr(row, fk), row.grade, row.is_copy)
        counts[key] = counts.get(key, 0) + 1
    out: dict[int, list[tuple[str, bool, int]]] = {}
    for (owner, grade, is_copy), n in counts.items():
        out.setdefault(owner, []).append((grade, is_copy, n))
    return out


def facts_recorded(
    *,
    as_of: dt.date,
    at: dt.datetime,
    jurisdictions: list[Jurisdiction],
    therapies: list[Therapy],
    decisions: Mapping[int, RecordedDecision] | None = None,
) -> selectors.CellFacts:
    """The facts of `selectors.cells_assemble` as the record stood at `at`.
    The jurisdictions given should already be `jurisdictions_recorded`."""
    if decisions is None:
        decisions = decisions_recorded(at)
    jids = {j.code: j.pk for j in jurisdictions}
    tids = {t.slug: t.pk for t in therapies}
    covered: dict[int, set[int]] = {}
    for jid, tid in Jurisdiction.covers_therapies.through.objects.filter(
        jurisdiction_id__in=list(jids.values())
    ).values_list("jurisdiction_id", "therapy_id"):
        covered.setdefault(jid, set()).add(tid)
    common: dict[str, Any] = {"as_of": as_of, "jurisdiction_ids": jids, "therapy_ids": tids}
    controls = _latest_recorded(decisions, name="control", **common)
    stages = _latest_recorded(decisions, name="approval_stage", **common)
    baselines = _overlay(
        list(ControlBaseline.objects.filter(jurisdiction_id__in=list(jids.values()))),
        ControlBaseline,
        at=at,
        names=_BASELINE_FIELDS,
    )
    programmes = _overlay(
        list(
            AccessProgramme.objects.filter(jurisdiction_id__in=list(jids.values()))
            .prefetch_related("therapies")
            .order_by("opened_on", "id")
        ),
        AccessProgramme,
        at=at,
        names=_PROGRAMME_FIELDS,
    )
    programmes = [
        p for p in programmes if p.kind not in NON_ROUTE_KINDS and (p.opened_on is None or p.opened_on <= as_of)
    ]
    # As cell_grid's ORDER BY opened_on, id (PostgreSQL puts nulls last).
    programmes.sort(key=lambda p: (p.opened_on is None, p.opened_on or dt.date.min, p.pk))
    decision_ids = {r[5] for r in controls.values()} | {r[5] for r in stages.values()}
    grades: dict[tuple[str, int], list[tuple[str, bool, int]]] = {}
    for kind, model, fk, owners in (
        ("decision", Source, "decision_id", decision_ids),
        ("programme", ProgrammeSource, "programme_id", [p.pk for p in programmes]),
        ("baseline", BaselineSource, "baseline_id", [b.pk for b in baselines]),
    ):
        for owner, rows in _grades_recorded(model, fk, owners, at=at).items():
            grades[(kind, owner)] = rows
    return selectors.CellFacts(
        covered=covered,
        controls=controls,
        stages=stages,
        baselines={(b.jurisdiction_id, b.substance.casefold()): b for b in baselines},
        programmes=programmes,
        grades=grades,
    )
