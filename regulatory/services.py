"""Writes to the regulatory record. Every entry point (admin, API, loader)
goes through these functions, so each publish, amendment, correction and
retraction writes its Change row in the same transaction as the edit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from regulatory.dates import period_end
from regulatory.models import (
    LIVE_STATES,
    Change,
    ChangeKind,
    Decision,
    DecisionState,
    Source,
)

# A decision announced this many days before it is recorded is labelled
# late-reported: it is news today, but not today's news.
LATE_REPORT_DAYS = 7

DECISION_FIELDS = (
    "jurisdiction", "regulator", "kind", "title", "summary",
    "announced_on", "announced_precision", "effective_on", "effective_precision",
    "target_on", "target_precision", "status", "access_programme", "verified", "verification_note",
)
SOURCE_FIELDS = ("url", "title", "publisher", "published_on", "published_precision", "grade", "note")

# Arbitrary constant naming the advisory lock that serialises Change writes.
_CHANGE_LOCK_KEY = 7_301_947


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return getattr(value, "code", None) or getattr(value, "slug", None) or value.pk
    return value


def decision_snapshot(decision: Decision) -> dict[str, Any]:
    """The public content of a decision as plain JSON values, for diffs."""
    snap = {name: _plain(getattr(decision, name)) for name in DECISION_FIELDS}
    snap["therapies"] = sorted(t.slug for t in decision.therapies.all())
    snap["sources"] = [
        {name: _plain(getattr(s, name)) for name in SOURCE_FIELDS}
        for s in sorted(decision.sources.all(), key=lambda s: (s.url, s.pk or 0))
    ]
    return snap


def snapshot_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def announcement_end(decision: Decision) -> dt.date:
    """The last day the announcement can have been on: a month-precision
    date is stored as the 1st, but may have been the 31st."""
    return period_end(decision.announced_on, decision.announced_precision)


def _change_write(*, decision: Decision, kind: str, diff: dict, by=None, note: str = "",
                  is_import: bool = False) -> Change:
    """Append a Change. Must run inside the caller's transaction."""
    if connection.vendor == "postgresql":
        # Serialise Change inserts until commit, so ids become visible in
        # order and a watermark never skips a change committed late.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGE_LOCK_KEY])
    now = timezone.now()
    # Only a first publication can be late news; an amendment of an old
    # decision is today's news about it.
    late = kind == ChangeKind.PUBLISH and announcement_end(decision) < now.date() - dt.timedelta(days=LATE_REPORT_DAYS)
    return Change.objects.create(
        decision=decision, kind=kind, diff=diff, note=note, recorded_at=now,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
        late_reported=late, is_import=is_import,
    )


def _sources_replace(decision: Decision, sources: Iterable[Mapping[str, Any]]) -> None:
    decision.sources.all().delete()
    for data in sources:
        source = Source(decision=decision, **{k: v for k, v in data.items() if k in SOURCE_FIELDS})
        source.full_clean(exclude=["decision"])
        source.save()


@transaction.atomic
def decision_create(*, by=None, therapies: Iterable, sources: Iterable[Mapping[str, Any]] = (),
                    slug: str | None = None, **fields: Any) -> Decision:
    """Create a draft decision with its therapies and sources."""
    from django.utils.text import slugify

    decision = Decision(**fields)
    decision.slug = slug or _unique_slug(slugify(f"{fields['jurisdiction'].code} {fields['title']}")[:100])
    decision.full_clean(exclude=["therapies"])
    decision.save()
    decision.therapies.set(list(therapies))
    _sources_replace(decision, sources)
    return decision


def _unique_slug(base: str) -> str:
    slug, n = base or "decision", 2
    while Decision.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def decision_update(*, decision: Decision, by=None, data: Mapping[str, Any], therapies: Iterable | None = None,
                    sources: Iterable[Mapping[str, Any]] | None = None, change_kind: str = ChangeKind.AMEND,
                    note: str = "", is_import: bool = False) -> Change | None:
    """Edit a decision. A draft is edited silently; a live decision records an
    amendment or a correction (a Change with the field diff)."""
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if decision.state == DecisionState.RETRACTED:
        raise ValidationError("A retracted decision cannot be edited.")
    before = decision_snapshot(decision)
    for name, value in data.items():
        if name not in DECISION_FIELDS:
            raise ValidationError({name: "This field cannot be edited."})
        setattr(decision, name, value)
    decision.full_clean(exclude=["therapies"])
    decision.save()
    if therapies is not None:
        decision.therapies.set(list(therapies))
    if sources is not None:
        _sources_replace(decision, sources)
    if decision.is_live and not decision.sources.exists():
        raise ValidationError({"sources": "A published decision needs at least one source."})
    if decision.is_draft:
        return None
    return decision_record_edit(decision=decision, before=before, by=by, change_kind=change_kind, note=note,
                                is_import=is_import)


def decision_record_edit(*, decision: Decision, before: Mapping[str, Any], by=None,
                         change_kind: str = ChangeKind.AMEND, note: str = "", is_import: bool = False) -> Change | None:
    """Record an edit already saved to a live decision (used by the admin,
    which saves the row and its inline sources itself)."""
    if change_kind not in (ChangeKind.AMEND, ChangeKind.CORRECT):
        raise ValidationError({"change_kind": "Choose amendment or correction."})
    decision.refresh_from_db()
    diff = snapshot_diff(before, decision_snapshot(decision))
    if not diff:
        return None
    Decision.objects.filter(pk=decision.pk).update(
        state=DecisionState.CORRECTED if change_kind == ChangeKind.CORRECT else DecisionState.AMENDED
    )
    decision.refresh_from_db(fields=["state"])
    return _change_write(decision=decision, kind=change_kind, diff=diff, by=by, note=note, is_import=is_import)


@transaction.atomic
def decision_publish(*, decision: Decision, by=None, note: str = "", is_import: bool = False) -> Change:
    """Publish a draft. It needs at least one source."""
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if not decision.is_draft:
        raise ValidationError(f"Only a draft can be published; this decision is {decision.get_state_display().lower()}.")
    if not decision.sources.exists():
        raise ValidationError({"sources": "A decision needs at least one source before it is published."})
    if not decision.therapies.exists():
        raise ValidationError({"therapies": "A decision needs at least one therapy before it is published."})
    decision.state = DecisionState.PUBLISHED
    decision.published_at = timezone.now()
    decision.full_clean(exclude=["therapies"])
    decision.save(update_fields=["state", "published_at", "updated_at"])
    diff = snapshot_diff({}, decision_snapshot(decision))
    return _change_write(decision=decision, kind=ChangeKind.PUBLISH, diff=diff, by=by, note=note, is_import=is_import)


@transaction.atomic
def decision_retract(*, decision: Decision, by=None, note: str) -> Change:
    """Withdraw a published decision from the record. It stays visible, marked
    retracted, with the reason; it no longer counts for status."""
    if not note.strip():
        raise ValidationError({"note": "Say why the decision is retracted."})
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if decision.state not in LIVE_STATES:
        raise ValidationError("Only a published decision can be retracted.")
    decision.state = DecisionState.RETRACTED
    decision.save(update_fields=["state", "updated_at"])
    return _change_write(decision=decision, kind=ChangeKind.RETRACT, diff={"state": ["published", "retracted"]},
                         by=by, note=note)


def decision_delete_draft(*, decision: Decision) -> None:
    if not decision.is_draft or decision.changes.exists():
        raise ValidationError("Published decisions are never deleted; retract it instead.")
    decision.delete()
