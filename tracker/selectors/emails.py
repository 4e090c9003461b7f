"""How a change reads in an email: its diff lines, and digests grouped by jurisdiction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from regulatory.diffs import DiffRow, change_diff_rows
from regulatory.models import (
    Change,
    ChangeKind,
)

# --- How a change reads in an email -----------------------------------------

CHANGE_KIND_LABELS: dict[str, str] = {
    ChangeKind.PUBLISH: "New decision",
    ChangeKind.AMEND: "Amendment",
    ChangeKind.CORRECT: "Correction",
    ChangeKind.RETRACT: "Retraction",
}

# Longer values (a summary, a list of sources) are cut in an email; the
# decision's page has them in full.
_MAX_VALUE_LENGTH = 300


def change_diff_lines(change: Change) -> list[DiffRow]:
    """What an amendment or correction changed, field by field, for people:
    the rows of the decision's page (`regulatory.diffs`), long values cut.
    A new decision and a retraction have none (the decision itself, or the
    editor's note, says it)."""
    if change.kind not in (ChangeKind.AMEND, ChangeKind.CORRECT) or not isinstance(change.diff, dict):
        return []
    return [DiffRow(row.label, _cut(row.before), _cut(row.after)) for row in change_diff_rows(change, change.decision)]


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_LENGTH else text[: _MAX_VALUE_LENGTH - 1] + "…"


@dataclass
class DigestGroup:
    jurisdiction: str
    therapies: str
    changes: list[Change] = field(default_factory=list)


def digest_groups(changes: Iterable[Change]) -> list[DigestGroup]:
    """Changes grouped by jurisdiction, then by the decision's therapies, in
    the matrix's order; within a group, in the order they were recorded."""
    groups: dict[tuple, DigestGroup] = {}
    for change in changes:
        decision = change.decision
        therapies = list(decision.therapies.all())
        key = (
            decision.jurisdiction.position,
            decision.jurisdiction.code,
            tuple((t.position, t.slug) for t in therapies),
        )
        if key not in groups:
            groups[key] = DigestGroup(
                jurisdiction=decision.jurisdiction.name,
                therapies=", ".join(t.name for t in therapies),
            )
        groups[key].changes.append(change)
    return [groups[key] for key in sorted(groups)]
