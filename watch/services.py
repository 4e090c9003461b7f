"""Writes for the watchers: polls, candidates, the review decisions."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from regulatory.models import Decision, DecisionKind, Precision, SourceGrade
from regulatory.services import decision_create
from watch.adapters import ACCEPT, PARSERS, Item
from watch.fetch import SourceError, fetch
from watch.matching import kind_suggest, matcher_build
from watch.models import Candidate, CandidateState, WatchedSource
from watch.selectors import cited_url_keys, url_key

logger = logging.getLogger(__name__)


@dataclass
class PollReport:
    source: str
    outcome: str = ""  # "new content", "not modified" or "error"
    items: int = 0
    created: list[Candidate] = field(default_factory=list)
    duplicates: int = 0
    cited: int = 0
    unmatched: int = 0
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.source}: ERROR {self.error}"
        if self.outcome == "not modified":
            return f"{self.source}: not modified (304)"
        return (
            f"{self.source}: {self.items} item(s), {len(self.created)} new candidate(s), "
            f"{self.duplicates} already proposed, {self.cited} already cited, {self.unmatched} not matching"
        )


def candidate_key(item: Item) -> str:
    return f"doc:{item.document_number}" if item.document_number else f"url:{url_key(item.url)}"


def _is_duplicate(item: Item) -> bool:
    """The same item as a candidate already proposed by any source: the same
    document number, or the same URL where one of the two has no document
    number (a change to a study or page has the study's or page's URL, and
    each change is its own candidate)."""
    if item.document_number and Candidate.objects.filter(document_number=item.document_number).exists():
        return True
    same_url = Candidate.objects.filter(url_key=url_key(item.url))
    if item.document_number:
        same_url = same_url.filter(document_number="")
    return same_url.exists()


def _record_failure(source: WatchedSource, reason: str, now: dt.datetime) -> None:
    WatchedSource.objects.filter(pk=source.pk).update(
        last_polled_at=now,
        last_error=reason[:2000],
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), Value(now, output_field=DateTimeField())),
    )


def source_poll(*, source: WatchedSource, now: dt.datetime | None = None) -> PollReport:
    """Fetch a source (conditionally), read its items and propose the new
    matching ones. Everything a poll writes is written in one transaction
    after the body was read and understood; a failure writes only itself."""
    now = now or timezone.now()
    report = PollReport(source=source.name)
    try:
        fetched = fetch(source.url, etag=source.etag, last_modified=source.last_modified, accept=ACCEPT[source.adapter])
        parsed = None if fetched.not_modified else PARSERS[source.adapter](source, fetched)
    except SourceError as exc:
        report.outcome, report.error = "error", str(exc)
        _record_failure(source, report.error, now)
        logger.warning("Watched source %s failed: %s", source.name, exc)
        return report

    with transaction.atomic():
        if parsed is not None:
            report.outcome = "new content"
            matcher, cited = matcher_build(), cited_url_keys()
            for item in parsed.items:
                report.items += 1
                therapies = matcher.match(item.text)
                if not therapies:
                    report.unmatched += 1
                elif not item.is_change and url_key(item.url) in cited:
                    report.cited += 1
                elif _is_duplicate(item):
                    report.duplicates += 1
                else:
                    candidate = _candidate_create(source=source, item=item, therapies=therapies, now=now)
                    if candidate is None:
                        report.duplicates += 1
                    else:
                        report.created.append(candidate)
        else:
            report.outcome = "not modified"
        fields: dict[str, Any] = {
            "last_polled_at": now,
            "last_success_at": now,
            "failing_since": None,
            "consecutive_failures": 0,
            "last_error": "",
        }
        if parsed is not None:
            fields.update(
                etag=fetched.headers.get("etag", "")[:500],
                last_modified=fetched.headers.get("last-modified", "")[:100],
                state=parsed.state,
            )
        WatchedSource.objects.filter(pk=source.pk).update(**fields)
    return report


def _candidate_create(*, source: WatchedSource, item: Item, therapies: list, now: dt.datetime) -> Candidate | None:
    hint = item.kind_hint if item.kind_hint in DecisionKind.values else ""
    try:
        with transaction.atomic():  # a savepoint: a concurrent poll may have proposed it first
            candidate = Candidate.objects.create(
                source=source,
                url=item.url[:1000],
                url_key=url_key(item.url)[:1000],
                document_number=item.document_number[:200],
                key=candidate_key(item)[:1000],
                title=item.title[:500],
                published_on=item.published_on,
                excerpt=item.excerpt,
                suggested_kind=hint or kind_suggest(f"{item.kind_hint} {item.title} {item.text}", source.default_kind),
                jurisdiction=source.jurisdiction,
                found_at=now,
            )
            candidate.therapies.set(therapies)
    except IntegrityError:
        return None
    return candidate


def sources_poll(*, sources, now: dt.datetime | None = None) -> list[PollReport]:
    """Poll each source in turn; one that breaks in an unforeseen way is
    recorded as failing and the others are still polled."""
    reports = []
    for source in sources:
        try:
            reports.append(source_poll(source=source, now=now))
        except Exception as exc:  # isolation: a bug in one adapter must not stop the other sources
            logger.exception("Watched source %s crashed", source.name)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            _record_failure(source, reason, now or timezone.now())
            reports.append(PollReport(source=source.name, outcome="error", error=reason))
    return reports


def source_claim(*, source_id: int, now: dt.datetime) -> WatchedSource | None:
    """Move a due source's next poll forward; None if it is not due or
    another worker claimed it first."""
    source = WatchedSource.objects.filter(pk=source_id, enabled=True).first()
    if source is None or (source.next_poll_at is not None and source.next_poll_at > now):
        return None
    rows = WatchedSource.objects.filter(pk=source_id, next_poll_at=source.next_poll_at).update(
        next_poll_at=now + dt.timedelta(minutes=source.poll_minutes)
    )
    return source if rows else None


@transaction.atomic
def candidate_draft_create(*, candidate: Candidate, by) -> Decision:
    """A draft decision from a candidate, its URL the official source; the
    editor completes and publishes it through the usual lifecycle."""
    candidate = (
        Candidate.objects.select_for_update(of=("self",))
        .select_related("source__regulator", "jurisdiction")
        .get(pk=candidate.pk)
    )
    if candidate.state != CandidateState.NEW:
        raise ValidationError(f"This candidate was already {candidate.get_state_display().lower()}.")
    jurisdiction = candidate.jurisdiction
    if jurisdiction is None:
        raise ValidationError({"jurisdiction": "Choose the candidate's jurisdiction before creating a draft."})
    regulator = candidate.source.regulator
    if regulator is not None and regulator.jurisdiction_id not in (jurisdiction.pk, jurisdiction.parent_id):
        regulator = None  # the source's regulator does not decide there; the editor picks one
    title = candidate.title[:300]
    decision = decision_create(
        by=by,
        therapies=list(candidate.therapies.all()),
        jurisdiction=jurisdiction,
        regulator=regulator,
        kind=candidate.suggested_kind,
        title=title,
        summary=candidate.excerpt or title,
        announced_on=candidate.published_on or timezone.localdate(),
        announced_precision=Precision.DAY,
        sources=[
            {
                "url": candidate.url,
                "title": title,
                "publisher": regulator.name if regulator else candidate.source.name,
                "published_on": candidate.published_on,
                "published_precision": Precision.DAY,
                "grade": SourceGrade.OFFICIAL,
            }
        ],
    )
    Candidate.objects.filter(pk=candidate.pk).update(
        state=CandidateState.DRAFTED,
        draft=decision,
        decided_at=timezone.now(),
        decided_by=by if getattr(by, "is_authenticated", False) else None,
    )
    return decision


def candidate_dismiss(*, candidate: Candidate, by, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this candidate is dismissed."})
    rows = Candidate.objects.filter(pk=candidate.pk, state=CandidateState.NEW).update(
        state=CandidateState.DISMISSED,
        dismiss_reason=reason[:2000],
        decided_at=timezone.now(),
        decided_by=by if getattr(by, "is_authenticated", False) else None,
    )
    if not rows:
        raise ValidationError("This candidate was already reviewed.")


@transaction.atomic
def sources_load() -> tuple[int, int]:
    """Add the shipped sources missing by name; fill an empty jurisdiction or
    regulator once the dataset has it. Returns (added, linked)."""
    from regulatory.models import Jurisdiction, Regulator
    from watch.data import SHIPPED_SOURCES

    jurisdictions = {j.code: j for j in Jurisdiction.objects.all()}
    regulators = {r.code: r for r in Regulator.objects.all()}
    created = linked = 0
    for row in SHIPPED_SOURCES:
        jurisdiction, regulator = jurisdictions.get(row["jurisdiction"]), regulators.get(row["regulator"])
        source, was_created = WatchedSource.objects.get_or_create(
            name=row["name"],
            defaults={
                "adapter": row["adapter"],
                "url": row["url"],
                "poll_minutes": row["poll_minutes"],
                "jurisdiction": jurisdiction,
                "regulator": regulator,
            },
        )
        if was_created:
            source.full_clean()
            created += 1
            continue
        fill: dict[str, Jurisdiction | Regulator] = {}
        if source.jurisdiction_id is None and jurisdiction is not None:
            fill["jurisdiction"] = jurisdiction
        if source.regulator_id is None and regulator is not None:
            fill["regulator"] = regulator
        if fill:
            WatchedSource.objects.filter(pk=source.pk).update(**fill)
            linked += 1
    return created, linked
