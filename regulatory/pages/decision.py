"""A decision's own page: its sources and its public history, each Change's
diff as rows a person can read (`regulatory.diffs`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from regulatory.diffs import DiffRow, change_diff_rows
from regulatory.editors import user_is_editor
from regulatory.models import (
    APPROVAL_STAGE_DESCRIPTIONS,
    CONTROL_DESCRIPTIONS,
    PUBLIC_STATES,
    Change,
    ChangeKind,
    Decision,
)


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
    def status_descriptions(self) -> list[str]:
        texts = []
        if self.decision.approval_stage:
            texts.append(APPROVAL_STAGE_DESCRIPTIONS[self.decision.approval_stage])
        if self.decision.control:
            texts.append(CONTROL_DESCRIPTIONS[self.decision.control])
        return texts


def decision_page_build(*, pk: int, user: Any) -> DecisionPage | None:
    """One decision with its sources and public history, or None when the
    public may not see it (drafts are for editors only). Four queries for
    the public; an editor's session adds a fixed few."""
    decision = (
        Decision.objects.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related(
            "therapies",
            "sources",
            Prefetch("changes", queryset=Change.objects.select_related("recorded_by").order_by("id")),
        )
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
