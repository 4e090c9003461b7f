"""The daily email of new candidates to the editors who opted in, sent
through the delivery engine's generic parts (tracker/delivery/: one SMTP
connection per batch, SMTP failures sorted into kinds, retry countdowns,
batches) with its own rows and claims:

- `candidate_mail_plan` writes one CandidateMail row per opted-in editor per
  day (unique (user, period): a second plan writes nothing), covering the
  candidates after that editor's watermark; a day with nothing new gets a
  row marked skipped, and the watermark moves on at once;
- `candidate_mail_batch_send` claims rows with one conditional UPDATE, sends
  them, and records each send with the watermark moved in the same
  transaction, so the watermark only moves past what was mailed;
- `candidate_mail_repair` (the same beat job) releases the claims of workers
  whose heartbeat stopped (tracker/delivery/heartbeat.py) or that are older
  than TRACKER_CLAIM_TIMEOUT, gives up on rows that used every attempt, and returns the unsent
  rows older than a few minutes, to be queued again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from regulatory.editors import user_is_editor
from tracker import emails as tracker_emails
from tracker.delivery import heartbeat
from tracker.delivery.batching import batches
from tracker.delivery.claims import claim_update
from tracker.delivery.connection import send_over_one_connection
from tracker.delivery.failures import MESSAGE_PERMANENT, RECIPIENT_PERMANENT, SendFailure
from tracker.delivery.marks import Recorder
from watch import emails, selectors
from watch.models import CANDIDATE_MAIL_UNSENT, CandidateMail, CandidateMailSubscription

# --- Opting in and out ------------------------------------------------------------------


def candidate_mail_opt_in(*, user) -> CandidateMailSubscription:
    """Start the daily email for an editor. The first email lists candidates
    found from now on, not the whole backlog."""
    if not user_is_editor(user):
        raise PermissionDenied("Only editors can receive the daily email of new candidates.")
    if not user.email:
        raise ValidationError({"email": "Your account has no email address: add one first."})
    subscription, _ = CandidateMailSubscription.objects.get_or_create(
        user=user,
        defaults={"last_candidate_id": selectors.candidate_latest_id()},
    )
    return subscription


def candidate_mail_opt_out(*, user) -> None:
    """Stop the daily email; nothing planned and unsent goes out any more."""
    with transaction.atomic():
        CandidateMailSubscription.objects.filter(user=user).delete()
        CandidateMail.objects.filter(CANDIDATE_MAIL_UNSENT, user=user, claimed_at__isnull=True).update(
            skipped_at=timezone.now(),
            last_error="The editor stopped these emails.",
        )


# --- Planning -----------------------------------------------------------------------------


def candidate_mail_due(*, now: dt.datetime) -> bool:
    """Whether today's emails may be planned: from WATCH_CANDIDATE_MAIL_AT (UTC) on."""
    return (now.hour, now.minute) >= settings.WATCH_CANDIDATE_MAIL_AT


def candidate_mail_plan(*, now: dt.datetime | None = None) -> list[int]:
    """Write today's row for every opted-in editor who has none yet; return
    the ids of the new rows to send. An editor with nothing new gets a row
    marked skipped (so today is planned once) and the watermark moves on."""
    now = now or timezone.now()
    period = now.date()
    upto = selectors.candidate_latest_id()
    with transaction.atomic():
        # Locked, so that a concurrent plan (a second beat, a manual run)
        # waits and then finds today's rows written.
        subscriptions = list(
            CandidateMailSubscription.objects.select_for_update()
            .filter(pk__in=selectors.candidate_mail_subscriptions().values("pk"))
            .order_by("pk")
        )
        planned = set(
            CandidateMail.objects.filter(period=period, user_id__in=[s.user_id for s in subscriptions]).values_list(
                "user_id", flat=True
            )
        )
        subscriptions = [s for s in subscriptions if s.user_id not in planned]
        if not subscriptions:
            return []
        lowest = min(s.last_candidate_id for s in subscriptions)
        new_ids = selectors.candidate_new_ids(after_id=lowest, upto_id=upto)
        rows, empty = [], []
        for subscription in subscriptions:
            count = sum(1 for pk in new_ids if pk > subscription.last_candidate_id)
            after = min(subscription.last_candidate_id, upto)
            rows.append(
                CandidateMail(
                    user_id=subscription.user_id,
                    period=period,
                    after_candidate_id=after,
                    upto_candidate_id=upto,
                    candidate_count=count,
                    skipped_at=None if count else now,
                )
            )
            if not count:
                empty.append(subscription.pk)
        CandidateMail.objects.bulk_create(rows, ignore_conflicts=True)
        CandidateMailSubscription.objects.filter(pk__in=empty, last_candidate_id__lt=upto).update(
            last_candidate_id=upto
        )
    return list(
        CandidateMail.objects.filter(
            CANDIDATE_MAIL_UNSENT,
            period=period,
            claimed_at__isnull=True,
            user_id__in=[s.user_id for s in subscriptions],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Claiming and sending ---------------------------------------------------------------


def _claim(ids: Sequence[int]) -> tuple[uuid.UUID, list[CandidateMail]]:
    token, claimed = claim_update(CandidateMail, CANDIDATE_MAIL_UNSENT, ids)
    if not claimed:
        return token, []
    rows = list(CandidateMail.objects.filter(pk__in=list(ids), claim_token=token).select_related("user").order_by("pk"))
    # An editor who opted out or stopped being an editor since the plan.
    opted_in = set(
        selectors.candidate_mail_subscriptions()
        .filter(user_id__in=[r.user_id for r in rows])
        .values_list("user_id", flat=True)
    )
    gone = [row.pk for row in rows if row.user_id not in opted_in]
    if gone:
        CandidateMail.objects.filter(pk__in=gone, claim_token=token).update(
            skipped_at=timezone.now(), last_error="No longer an opted-in editor with an address."
        )
    return token, [row for row in rows if row.pk not in gone]


def _renew(token: uuid.UUID, rows: Sequence[CandidateMail]) -> set[int]:
    """As tracker.delivery.claims.claim_renew: the heartbeat first, then the
    claims still held."""
    heartbeat.beat()
    heartbeat.claims_asserted()
    mine = CandidateMail.objects.filter(pk__in=[row.pk for row in rows], claim_token=token, sent_at__isnull=True)
    mine.update(claimed_at=timezone.now())
    return set(mine.values_list("pk", flat=True))


def _failed(token: uuid.UUID, row: CandidateMail, failure: SendFailure) -> bool:
    """Record a failure; True when the row was released for another try."""
    mine = CandidateMail.objects.filter(pk=row.pk, claim_token=token, sent_at__isnull=True)
    if failure.kind in (RECIPIENT_PERMANENT, MESSAGE_PERMANENT) or row.attempts >= settings.TRACKER_MAX_ATTEMPTS:
        # An editor's address is not suppressed for the subscribers' mail:
        # the row keeps the reason, shown in the admin.
        mine.update(failed_at=timezone.now(), last_error=failure.text)
        return False
    return bool(mine.update(claimed_at=None, claim_token=None, claimed_by=None, last_error=failure.text))


def _recorder(token: uuid.UUID) -> Recorder:
    def sent(row: CandidateMail, message_id: str) -> None:
        # The watermark moves if and only if this worker's claimed row was marked sent.
        with transaction.atomic():
            if CandidateMail.objects.filter(pk=row.pk, claim_token=token).update(
                sent_at=timezone.now(),
                message_id=message_id,
                last_error="",
                candidate_count=row.candidate_count,
            ):
                CandidateMailSubscription.objects.filter(
                    user_id=row.user_id,
                    last_candidate_id__lt=row.upto_candidate_id,
                ).update(last_candidate_id=row.upto_candidate_id)

    return Recorder(sent)


def _skip_empty(token: uuid.UUID, row: CandidateMail) -> None:
    """Everything planned was reviewed before the send: no email, and the watermark moves on."""
    with transaction.atomic():
        if CandidateMail.objects.filter(pk=row.pk, claim_token=token).update(
            skipped_at=timezone.now(),
            candidate_count=0,
            claimed_at=None,
            claim_token=None,
            claimed_by=None,
        ):
            CandidateMailSubscription.objects.filter(
                user_id=row.user_id,
                last_candidate_id__lt=row.upto_candidate_id,
            ).update(last_candidate_id=row.upto_candidate_id)


def candidate_mail_batch_send(*, mail_ids: Sequence[int]) -> list[int]:
    """Claim and send these candidate emails over one SMTP connection.
    Returns the ids to retry later (transient failures)."""
    token, rows = _claim(mail_ids)
    if not rows:
        return []

    def build(row: CandidateMail) -> tracker_emails.Outgoing | None:
        candidates = selectors.candidates_for_mail(after_id=row.after_candidate_id, upto_id=row.upto_candidate_id)
        if not candidates:
            _skip_empty(token, row)
            return None
        row.candidate_count = len(candidates)
        message = emails.candidate_mail_message(row, candidates)
        recipient = tracker_emails.Recipient(
            email=row.user.email, message_id=message.extra_headers["Message-ID"], manage_url="", unsubscribe_url=""
        )
        return tracker_emails.Outgoing(recipient, None, lambda: message)

    retry = send_over_one_connection(
        rows,
        build=build,
        recorder=_recorder(token),
        on_failure=lambda row, failure: _failed(token, row, failure),
        renew=lambda rest: _renew(token, rest),
    )
    return [row.pk for row in retry]


# --- Repair ---------------------------------------------------------------------------------


@dataclass
class CandidateMailRun:
    """What one run of the beat job did."""

    planned: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    claims_released: int = 0
    given_up: int = 0

    @property
    def batches(self) -> list[list[int]]:
        return batches(sorted(set(self.planned) | set(self.requeued)))


def candidate_mail_repair(*, now: dt.datetime | None = None) -> CandidateMailRun:
    """Release the claims of workers whose heartbeat stopped, and claims
    older than TRACKER_CLAIM_TIMEOUT (a process without a heartbeat), fail rows that used TRACKER_MAX_ATTEMPTS, and return the unsent unclaimed
    rows older than WATCH_CANDIDATE_MAIL_STALE seconds (their task was lost,
    or its retries ran out): a second copy of a task is harmless, claims
    see to that."""
    now = now or timezone.now()
    run = CandidateMailRun()
    # As the tracker's sweeper: a claim younger than a few seconds is left
    # alone, since this view of the live workers may predate its worker.
    young = now - dt.timedelta(seconds=settings.TRACKER_HEARTBEAT_TIMEOUT / 3)
    dead = Q(claimed_by__isnull=False, claimed_at__lt=young) & ~Q(claimed_by__in=heartbeat.live_worker_ids()) | Q(
        claimed_at__lt=now - dt.timedelta(seconds=settings.TRACKER_CLAIM_TIMEOUT)
    )
    run.claims_released = (
        CandidateMail.objects.filter(CANDIDATE_MAIL_UNSENT, claimed_at__isnull=False)
        .filter(dead)
        .update(claimed_at=None, claim_token=None, claimed_by=None)
    )
    run.given_up = CandidateMail.objects.filter(
        CANDIDATE_MAIL_UNSENT,
        claimed_at__isnull=True,
        attempts__gte=settings.TRACKER_MAX_ATTEMPTS,
    ).update(failed_at=now)
    run.requeued = list(
        CandidateMail.objects.filter(
            CANDIDATE_MAIL_UNSENT,
            claimed_at__isnull=True,
            created_at__lte=now - dt.timedelta(seconds=settings.WATCH_CANDIDATE_MAIL_STALE),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return run


def candidate_mail_run(*, now: dt.datetime | None = None) -> CandidateMailRun:
    """The beat job: repair, then plan today's emails once it is time."""
    now = now or timezone.now()
    run = candidate_mail_repair(now=now)
    if candidate_mail_due(now=now):
        run.planned = candidate_mail_plan(now=now)
    return run
