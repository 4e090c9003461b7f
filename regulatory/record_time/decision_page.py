"""Record time: a decision's page as it stood at a past moment."""

from __future__ import annotations

from typing import Any

from regulatory.models import (
    ChangeKind,
    Source,
)
from regulatory.record_time.parsing import RecordTime
from regulatory.record_time.replay import _STATE_AFTER, RecordedDecision, _date, _history_rows
from regulatory.services import DECISION_FIELDS

# --- A decision's page in record time -----------------------------------------------

# The fields of a decision's page taken from its replayed Changes: every
# field an edit records but the references (jurisdiction, regulator,
# programme), which are today's.
_REFERENCES = ("jurisdiction", "regulator", "access_programme")
_PAGE_FIELDS = tuple(name for name in DECISION_FIELDS if name not in _REFERENCES)


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
