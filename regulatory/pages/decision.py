"""A decision's own page: its sources and its public history, each Change's
diff rendered as rows a person can read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from regulatory.editors import user_is_editor
from regulatory.models import (
    PUBLIC_STATES,
    STATUS_DESCRIPTIONS,
    Change,
    ChangeKind,
    Decision,
    DecisionKind,
    DecisionState,
    Precision,
    SourceGrade,
    Status,
    format_partial_date,
)

@dataclass(frozen=True)
class DiffRow:
    label: str
    before: str
    after: str


_FIELD_LABELS = {
    "announced_on": "Announced", "effective_on": "Effective", "target_on": "Target date",
    "announced_precision": "Announced date precision", "effective_precision": "Effective date precision",
    "target_precision": "Target date precision", "access_programme": "Access programme",
    "verification_note": "Verification note", "state": "State",
}


def _value_display(name: str, value: Any, diff: Mapping[str, list[Any]], side: int, decision: Decision) -> str:
    if value in (None, "", []):
        return "—"
    if name == "status":
        return Status(value).label if value in Status.values else str(value)
    if name == "kind":
        return DecisionKind(value).label if value in DecisionKind.values else str(value)
    if name == "state":
        return DecisionState(value).label if value in DecisionState.values else str(value)
    if name.endswith("_precision"):
        return Precision(value).label if value in Precision.values else str(value)
    if name.endswith("_on"):
        prefix = name[: -len("_on")]
        precision = diff.get(f"{prefix}_precision", [None, None])[side] or getattr(decision, f"{prefix}_precision")
        try:
            return format_partial_date(dt.date.fromisoformat(value), precision)
        except (TypeError, ValueError):
            return str(value)
    if name == "verified":
        return "Yes" if value else "No"
    if name == "therapies":
        return ", ".join(value)
    if name in ("jurisdiction", "regulator"):
        return str(value).upper()
    return str(value)


def _source_display(source: Mapping[str, Any]) -> str:
    grade = SourceGrade(source["grade"]).label if source.get("grade") in SourceGrade.values else source.get("grade")
    return f"{source.get('publisher')}: {source.get('title')} ({grade}) — {source.get('url')}"


def change_diff_rows(change: Change, decision: Decision) -> list[DiffRow]:
    """A Change's field diff as rows a person can read. Sources are compared
    by URL so that an added, removed or edited source reads as such."""
    if change.kind == ChangeKind.PUBLISH:
        return []
    rows: list[DiffRow] = []
    diff = change.diff or {}
    for name, pair in diff.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        before, after = pair
        if name == "sources":
            old = {s.get("url"): s for s in before or []}
            new = {s.get("url"): s for s in after or []}
            for url in sorted(set(old) | set(new)):
                if url not in new:
                    rows.append(DiffRow("Source removed", _source_display(old[url]), "—"))
                elif url not in old:
                    rows.append(DiffRow("Source added", "—", _source_display(new[url])))
                elif old[url] != new[url]:
                    rows.append(DiffRow("Source changed", _source_display(old[url]), _source_display(new[url])))
            continue
        label = _FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()
        rows.append(DiffRow(label, _value_display(name, before, diff, 0, decision),
                            _value_display(name, after, diff, 1, decision)))
    return rows


@dataclass(frozen=True)
class ChangeView:
    change: Change
    rows: list[DiffRow]


@dataclass
class DecisionPage:
    decision: Decision
    history: list[ChangeView]
    retraction: Change | None
    editor_view: bool

    @property
    def status_label(self) -> str:
        return self.decision.get_status_display() if self.decision.status else ""

    @property
    def status_description(self) -> str:
        return STATUS_DESCRIPTIONS.get(self.decision.status, "")


def decision_page_build(*, pk: int, user: Any) -> DecisionPage | None:
    """One decision with its sources and public history, or None when the
    public may not see it (drafts are for editors only). Four queries for
    the public; an editor's session adds a fixed few."""
    decision = (
        Decision.objects.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources",
                          Prefetch("changes", queryset=Change.objects.select_related("recorded_by").order_by("id")))
        .filter(pk=pk)
        .first()
    )
    if decision is None:
        return None
    editor_view = False
    if decision.state not in PUBLIC_STATES:
        if not user_is_editor(user):
            return None
        editor_view = True
    changes = list(decision.changes.all())
    retraction = next((c for c in reversed(changes) if c.kind == ChangeKind.RETRACT), None)
    history = [ChangeView(c, change_diff_rows(c, decision)) for c in changes]
    return DecisionPage(decision=decision, history=history, retraction=retraction, editor_view=editor_view)
