"""Writes to the regulatory record. Every entry point (admin, API, loader)
goes through these functions, so each publish, amendment, correction and
retraction writes its Change row in the same transaction as the edit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from regulatory.dates import period_end
from regulatory.errors import (
    DecisionStateError,
    EditConflict,
    EditNeedsKind,
    EditNeedsKindAndNote,
    EditNeedsNote,
    SlugIsFixed,
)
from regulatory.models import (
    LIVE_STATES,
    Change,
    ChangeKind,
    Decision,
    DecisionState,
    Jurisdiction,
    JurisdictionReview,
    Source,
)

# A decision announced this many days before it is recorded is labelled
# late-reported: it is news today, but not today's news.
LATE_REPORT_DAYS = 7

DECISION_FIELDS = (
    "jurisdiction",
    "regulator",
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
    "access_programme",
    "verified",
    "verification_note",
    "researched_on",
    "researched_precision",
)
SOURCE_FIELDS = (
    "url",
    "title",
    "publisher",
    "published_on",
    "published_precision",
    "grade",
    "is_copy",
    "original_url",
    "note",
)

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


def _change_write(
    *, decision: Decision, kind: str, diff: dict, by=None, note: str = "", is_import: bool = False
) -> Change:
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
        decision=decision,
        kind=kind,
        diff=diff,
        note=note,
        recorded_at=now,
        recorded_by=_user_or_none(by),
        late_reported=late,
        is_import=is_import,
    )


def _sources_set(decision: Decision, sources: Iterable[Mapping[str, Any]], *, by=None) -> None:
    """Make the decision's sources these, matched by URL: a source whose URL
    stays keeps its row (and history) and is updated only where it differs;
    the others are deleted or created. A key left out takes the field's default,
    as if the source had been written anew."""
    wanted = [
        {name: data.get(name, cast(Field, Source._meta.get_field(name)).get_default()) for name in SOURCE_FIELDS}
        for data in sources
    ]
    urls = [data["url"] for data in wanted]
    repeated = sorted({url for url in urls if urls.count(url) > 1})
    if repeated:
        raise ValidationError({"sources": f"Each source is cited once; repeated: {', '.join(repeated)}."})
    existing = {source.url: source for source in decision.sources.all()}
    for url, source in existing.items():
        if url not in urls:
            source._history_user = _user_or_none(by)
            source.delete()
    for data in wanted:
        source = existing.get(data["url"]) or Source(decision=decision)
        changed = [name for name, value in data.items() if getattr(source, name) != value]
        if source.pk is not None and not changed:
            continue
        for name in changed:
            setattr(source, name, data[name])
        source.full_clean(exclude=["decision"])
        source._history_user = _user_or_none(by)
        source.save()


def _user_or_none(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _decision_claim(*, decision: Decision, version: int | None) -> Decision:
    """Take the decision's row for this transaction and move its version on,
    then read it back. The check is in the UPDATE itself
    (`UPDATE ... SET version = version + 1 WHERE id = %s AND version = %s`):
    the row lock it takes makes a concurrent edit wait, and when that edit
    goes on after this one commits, PostgreSQL re-checks its WHERE against
    the committed row, so it matches no row and is refused. Without a
    `version` (internal callers that have just read the row) the row is
    still locked and moved on, so two edits are applied one after the other,
    each diffing against what the other committed."""
    rows = Decision.objects.filter(pk=decision.pk)
    if version is not None:
        rows = rows.filter(version=version)
    if rows.update(version=F("version") + 1) == 0:
        current = Decision.objects.filter(pk=decision.pk).values_list("version", flat=True).first()
        if current is None:
            raise Decision.DoesNotExist(f"No decision {decision.pk}.")
        raise EditConflict(expected=version, current=current)
    return Decision.objects.get(pk=decision.pk)


@transaction.atomic
def decision_create(
    *, by=None, therapies: Iterable, sources: Iterable[Mapping[str, Any]] = (), slug: str | None = None, **fields: Any
) -> Decision:
    """Create a draft decision with its therapies and sources."""
    from django.utils.text import slugify

    decision = Decision(**fields)
    decision.slug = slug or _unique_slug(slugify(f"{fields['jurisdiction'].code} {fields['title']}")[:100])
    decision.full_clean(exclude=["therapies"])
    decision._history_user = _user_or_none(by)
    decision.save()
    therapies = list(therapies)
    if not therapies and decision.substance:
        # A decision about a substance concerns every therapy with it: listing
        # them keeps therapy filters and subscriptions right.
        therapies = therapies_with_substance(decision.substance)
    decision.therapies.set(therapies)
    _sources_set(decision, sources, by=by)
    return decision


def therapies_with_substance(substance: str) -> list:
    from regulatory.models import Therapy

    return [t for t in Therapy.objects.all() if t.substance.casefold() == substance.strip().casefold()]


def _unique_slug(base: str) -> str:
    slug, n = base or "decision", 2
    while Decision.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


EDIT_KINDS = (ChangeKind.AMEND, ChangeKind.CORRECT)
EDIT_NEEDS_KIND = (
    "Say whether this edit of a published decision is an amendment or a correction "
    "(amend: the facts moved on; correct: the record was wrong)."
)
EDIT_NEEDS_NOTE = "Say in a public note what changed and why; it is shown in the decision's history."


def decision_check_edit(*, decision: Decision, change_kind: str | None, note: str) -> None:
    """The rule for an edit that changes a published decision: it is an
    amendment or a correction, with a public note. Drafts change silently.
    `decision_update` applies it; an entry point may call it first to show
    the errors beside its fields before anything is written."""
    if not decision.is_live:
        return
    errors: dict[str, list[str]] = {}
    if change_kind not in EDIT_KINDS:
        errors["change_kind"] = [EDIT_NEEDS_KIND]
    if not (note or "").strip():
        errors["note"] = [EDIT_NEEDS_NOTE]
    if len(errors) == 2:
        raise EditNeedsKindAndNote(errors, code="edit_needs_kind_and_note")
    if "change_kind" in errors:
        raise EditNeedsKind(errors, code="edit_needs_kind")
    if "note" in errors:
        raise EditNeedsNote(errors, code="edit_needs_note")


@transaction.atomic
def decision_update(
    *,
    decision: Decision,
    by=None,
    data: Mapping[str, Any],
    therapies: Iterable | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
    change_kind: str | None = None,
    note: str = "",
    slug: str | None = None,
    version: int | None = None,
    is_import: bool = False,
) -> Change | None:
    """Edit a decision. A draft is edited silently; an edit that changes a
    live decision needs `change_kind` (amend or correct) and a public `note`
    (EditNeedsKind / EditNeedsNote) and records a Change with the field diff.

    `version` is the version of the decision the edit was based on: if the
    decision has moved on since, the edit is refused (EditConflict) rather
    than silently undoing the other edit. A retracted decision cannot be
    edited (DecisionStateError); a published decision's slug never changes
    (SlugIsFixed). Nothing is written when any of these is raised."""
    decision = _decision_claim(decision=decision, version=version)
    if decision.state == DecisionState.RETRACTED:
        raise DecisionStateError("A retracted decision cannot be edited.", code="retracted")
    before = decision_snapshot(decision)
    for name, value in data.items():
        if name not in DECISION_FIELDS:
            raise ValidationError({name: "This field cannot be edited."})
        setattr(decision, name, value)
    if slug is not None and slug != decision.slug:
        if not decision.is_draft:
            raise SlugIsFixed(
                {"slug": ["The slug of a published decision never changes: links and citations use it."]},
                code="slug_is_fixed",
            )
        decision.slug = slug
    decision.full_clean(exclude=["therapies"])
    decision._history_user = _user_or_none(by)
    decision.save()
    if therapies is not None:
        decision.therapies.set(list(therapies))
    if sources is not None:
        _sources_set(decision, sources, by=by)
    if decision.is_live and not decision.sources.exists():
        raise ValidationError({"sources": "A published decision needs at least one source."})
    if decision.is_draft:
        return None
    diff = snapshot_diff(before, decision_snapshot(decision))
    if not diff:
        return None
    decision_check_edit(decision=decision, change_kind=change_kind, note=note)
    Decision.objects.filter(pk=decision.pk).update(
        state=DecisionState.CORRECTED if change_kind == ChangeKind.CORRECT else DecisionState.AMENDED
    )
    decision.refresh_from_db(fields=["state"])
    assert change_kind is not None  # decision_check_edit refuses a live edit without one
    return _change_write(decision=decision, kind=change_kind, diff=diff, by=by, note=note, is_import=is_import)


@transaction.atomic
def decision_publish(
    *, decision: Decision, by=None, note: str = "", version: int | None = None, is_import: bool = False
) -> Change:
    """Publish a draft. It needs at least one source and one therapy."""
    decision = _decision_claim(decision=decision, version=version)
    if not decision.is_draft:
        raise DecisionStateError(
            f"Only a draft can be published; this decision is {decision.get_state_display().lower()}.",
            code="not_draft",
        )
    if not decision.sources.exists():
        raise ValidationError({"sources": "A decision needs at least one source before it is published."})
    if not decision.therapies.exists():
        raise ValidationError({"therapies": "A decision needs at least one therapy before it is published."})
    decision.state = DecisionState.PUBLISHED
    decision.published_at = timezone.now()
    decision.full_clean(exclude=["therapies"])
    decision._history_user = _user_or_none(by)
    decision.save(update_fields=["state", "published_at", "updated_at"])
    diff = snapshot_diff({}, decision_snapshot(decision))
    return _change_write(decision=decision, kind=ChangeKind.PUBLISH, diff=diff, by=by, note=note, is_import=is_import)


@transaction.atomic
def decision_retract(*, decision: Decision, by=None, note: str, version: int | None = None) -> Change:
    """Withdraw a published decision from the record, for good. It stays
    visible, marked retracted, with the reason; it no longer counts for
    status, and it can never be edited or published again."""
    if not note.strip():
        raise ValidationError({"note": "Say why the decision is retracted."})
    decision = _decision_claim(decision=decision, version=version)
    if decision.state not in LIVE_STATES:
        raise DecisionStateError("Only a published decision can be retracted.", code="not_live")
    decision.state = DecisionState.RETRACTED
    decision._history_user = _user_or_none(by)
    decision.save(update_fields=["state", "updated_at"])
    return _change_write(
        decision=decision, kind=ChangeKind.RETRACT, diff={"state": ["published", "retracted"]}, by=by, note=note
    )


@transaction.atomic
def decision_delete_draft(*, decision: Decision, by=None, version: int | None = None) -> None:
    """Delete a draft that was never published. Published decisions are never
    deleted (DecisionStateError): they are retracted."""
    decision = _decision_claim(decision=decision, version=version)
    if not decision.is_draft or decision.changes.exists():
        raise DecisionStateError("Published decisions are never deleted; retract it instead.", code="not_draft")
    decision._history_user = _user_or_none(by)
    decision.delete()


@transaction.atomic
def jurisdiction_review_record(
    *,
    jurisdiction: Jurisdiction,
    reviewed_to: dt.date | None = None,
    by=None,
    from_dataset: bool = False,
    note: str = "",
) -> JurisdictionReview:
    """Record that `jurisdiction`'s record was checked for events up to
    `reviewed_to` (default today) and nothing else is missing: "reviewed:
    nothing new". Who and when are kept for the audit trail (never shown in
    public); the jurisdiction's review date only moves forward."""
    now = timezone.now()
    reviewed_to = reviewed_to or timezone.localdate()
    review = JurisdictionReview(
        jurisdiction=jurisdiction,
        reviewed_to=reviewed_to,
        recorded_at=now,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
        from_dataset=from_dataset,
        note=note,
    )
    review.full_clean()
    review.save()
    jurisdiction = Jurisdiction.objects.select_for_update().get(pk=jurisdiction.pk)
    if jurisdiction.reviewed_to is None or reviewed_to > jurisdiction.reviewed_to:
        jurisdiction.reviewed_to = reviewed_to
        jurisdiction.save()  # through save(): a history row, so the record version moves
    return review
