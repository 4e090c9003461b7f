"""How a Change's diff reads to a person: one row per field, with labels and
values as the pages show them ("Target date: 11 Aug 2024 → Aug 2024").

Shared by the decision page and the emails (tracker), so that a subscriber
reads the same change as an analyst does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from regulatory.models import (
    LEGACY_STATUS_LABELS,
    ApprovalStage,
    Change,
    ChangeKind,
    Control,
    Decision,
    DecisionKind,
    DecisionState,
    Precision,
    SourceGrade,
    format_partial_date,
)


@dataclass(frozen=True)
class DiffRow:
    label: str
    before: str
    after: str


_FIELD_LABELS = {
    "announced_on": "Announced",
    "effective_on": "Effective",
    "target_on": "Target date",
    "announced_precision": "Announced date precision",
    "effective_precision": "Effective date precision",
    "target_precision": "Target date precision",
    "access_programme": "Access programme",
    "verification_note": "Verification note",
    "state": "State",
    "control_instrument": "Instrument",
    "approval_stage": "Approval stage",
    "researched_on": "Researched",
    "status": "Status (former)",
}


def _value_display(name: str, value: Any, diff: Mapping[str, list[Any]], side: int, decision: Decision) -> str:
    if value in (None, "", []):
        return "—"
    if name == "status":  # the former single status, in old diffs
        return LEGACY_STATUS_LABELS.get(value, str(value))
    if name == "control":
        return Control(value).label if value in Control.values else str(value)
    if name == "approval_stage":
        return ApprovalStage(value).label if value in ApprovalStage.values else str(value)
    if name == "is_copy":
        return "Yes" if value else "No"
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
        rows.append(
            DiffRow(
                label, _value_display(name, before, diff, 0, decision), _value_display(name, after, diff, 1, decision)
            )
        )
    return rows
