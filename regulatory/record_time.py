"""Record time: the record as the tracker showed it at a past moment R
(`?recorded_as_of=YYYY-MM-DD[THH:MM]`), so that a citation is reproducible.

Decisions are rebuilt from their Change history: every publish, amendment,
correction and retraction wrote one, with its field diff (a publish diff
holds every field as [None, value]), so replaying the diffs recorded by R
gives each decision as it stood then, and a decision with no Change by R
did not exist then. A correction recorded after R does not alter what was
shown at R.

Programmes, baselines, jurisdictions (their review dates) and sources have
no Change: their simple-history tables say what they were at R. An object
whose history has no row after R is used as it is now (so values written
with `QuerySet.update()`, which leaves no history row, are kept); one with a
later row takes its values at R; one first recorded after R (or deleted by
R) is left out. Coverage (a many-to-many without history) is today's.

The cells are then built by the same rule as today's (`selectors.cells_assemble`)
from these facts, in a fixed number of queries whatever the size of the data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

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

PARAM = "recorded_as_of"
MIN_YEAR, MAX_YEAR = 1900, 2200
_RECORDED_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$")


class BadRecordTime(ValueError):
    """A `recorded_as_of` the record cannot answer (400, naming the parameter)."""

    param = PARAM


@dataclass(frozen=True)
class RecordTime:
    """The moment R: `at` is the last instant it covers (the end of the day
    or of the minute given, never after now), `raw` as given."""

    at: dt.datetime
    raw: str
    has_time: bool

    @property
    def date(self) -> dt.date:
        return timezone.localtime(self.at).date()

    @property
    def display(self) -> str:
        local = timezone.localtime(self.at)
        text = f"{local.day} {local.strftime('%b %Y')}"
        return f"{text}, {local.strftime('%H:%M')}" if self.has_time else text


def first_record_at() -> dt.datetime | None:
    """When the first Change was recorded (one query)."""
    return Change.objects.order_by("recorded_at").values_list("recorded_at", flat=True).first()


def recorded_as_of_parse(raw: str | None, *, now: dt.datetime | None = None) -> RecordTime | None:
    """`YYYY-MM-DD` (the end of that day, site time) or `YYYY-MM-DDTHH:MM`
    (the end of that minute); None when absent or blank. Raises
    BadRecordTime for a malformed date, a year outside 1900–2200, a moment
    in the future or one before the first record (one query)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _RECORDED_RE.match(raw)
    if not match:
        raise BadRecordTime(f"“{raw[:40]}” is not a moment; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2026-11-30T09:00.")
    year, month, day = (int(g) for g in match.groups()[:3])
    hour, minute = (int(g) if g is not None else None for g in match.groups()[3:])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadRecordTime(f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    try:
        start = dt.datetime(year, month, day, hour or 0, minute or 0)
    except ValueError:
        raise BadRecordTime(f"“{raw}” is not a real date and time.") from None
    has_time = hour is not None
    end = start + (dt.timedelta(minutes=1) if has_time else dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    tz = timezone.get_current_timezone()
    start, end = timezone.make_aware(start, tz), timezone.make_aware(end, tz)
    now = now or timezone.now()
    if start > now:
        raise BadRecordTime(f"“{raw}” is in the future: the record can only be shown as it was.")
    first = first_record_at()
    if first is None or end < first:
        when = timezone.localtime(first).strftime("%Y-%m-%dT%H:%M") if first else "none yet"
        raise BadRecordTime(f"“{raw}” is before the first record ({when}).")
    return RecordTime(at=min(end, now), raw=raw, has_time=has_time)


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


def status_grid(
    *,
    as_of: dt.date,
    jurisdictions: list[Jurisdiction],
    therapies: list[Therapy],
    today: dt.date | None = None,
    recorded: RecordTime | None = None,
    decisions: Mapping[int, RecordedDecision] | None = None,
) -> dict[tuple[int, int], selectors.Cell]:
    """`selectors.cell_grid`, or with `recorded` the same cells as the
    tracker showed them at R (the jurisdictions given are updated to R)."""
    today = today or timezone.localdate()
    if recorded is None:
        return selectors.cell_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, today=today)
    jurisdictions_recorded(jurisdictions, at=recorded.at)
    facts = facts_recorded(
        as_of=as_of, at=recorded.at, jurisdictions=jurisdictions, therapies=therapies, decisions=decisions
    )
    return selectors.cells_assemble(
        as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, facts=facts, today=today
    )


def status_rows(
    *,
    as_of: dt.date,
    jurisdictions: list[Jurisdiction] | None = None,
    therapies: list[Therapy] | None = None,
    recorded: RecordTime | None = None,
) -> list[selectors.StatusRow]:
    """`selectors.status_rows`, optionally in record time."""
    if recorded is None:
        return selectors.status_rows(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies)
    if jurisdictions is None:
        jurisdictions = list(Jurisdiction.objects.order_by("position", "code"))
    if therapies is None:
        therapies = list(selectors.therapy_list())
    cells = status_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, recorded=recorded)
    return [
        selectors.StatusRow(jurisdiction=j, therapy=t, cell=cells[(j.pk, t.pk)])
        for j in jurisdictions
        for t in therapies
    ]


class RecordedAsOfField(forms.Field):
    """`recorded_as_of` in a form: a RecordTime or None (see `recorded_as_of_parse`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> RecordTime | None:
        try:
            return recorded_as_of_parse(value)
        except BadRecordTime as error:
            raise ValidationError(str(error), code="invalid") from None


# --- A decision's page in record time -----------------------------------------------

# The fields of a decision's page taken from its replayed Changes; the
# jurisdiction, regulator and programme (references) are today's.
_PAGE_FIELDS = (
    "kind",
    "title",
    "summary",
    "announced_on",
    "announced_precision",
    "effective_on",
    "effective_precision",
    "target_on",
    "target_precision",
    "substance",
    "control",
    "control_instrument",
    "approval_stage",
    "verified",
    "verification_note",
    "researched_on",
    "researched_precision",
)


def decision_page_recorded(page: Any, recorded: RecordTime) -> Any | None:
    """A decision page (`pages.decision.DecisionPage`) as it read at R: its
    fields replayed from the Changes recorded by then (already prefetched),
    only those Changes in its history, its sources as they were (one query).
    None when no Change was recorded by R: the decision did not exist then."""
    kept = [view for view in page.history if view.change.recorded_at <= recorded.at]
    if not kept:
        return None
    replayed = RecordedDecision(id=page.decision.pk)
    for view in kept:
        for name, pair in (view.change.diff or {}).items():
            if name != "state" and isinstance(pair, list | tuple) and len(pair) == 2:
                replayed.fields[name] = pair[1]
        replayed.state = _STATE_AFTER.get(view.change.kind, replayed.state)
    decision = page.decision
    for name in _PAGE_FIELDS:
        if name not in replayed.fields:
            continue
        value = replayed.fields[name]
        if name.endswith("_on"):
            value = _date(value)
        elif name == "verified":
            value = bool(value)
        elif value is None:
            value = ""
        setattr(decision, name, value)
    decision.state = replayed.state
    rows, _, _ = _history_rows(Source, at=recorded.at, decision_id=decision.pk)
    sources = [row.instance for row in sorted(rows.values(), key=lambda r: r.id)]
    decision._prefetched_objects_cache["sources"] = sources
    page.history = kept
    page.retraction = next((v.change for v in reversed(kept) if v.change.kind == ChangeKind.RETRACT), None)
    return page
