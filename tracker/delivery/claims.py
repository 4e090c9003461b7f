"""Claims on Notification and DigestDelivery rows: take them with one
conditional UPDATE, re-assert them during a long batch (and whenever this
worker's heartbeat may have lapsed), and give them back (or fail them) when
a send goes wrong. A claim names the worker process that holds it.

A claim is a token and a time on the row. Only the holder of the token may
record a result, so a row released by the sweeper and taken by another worker
is never recorded (or sent) by the first one again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tracker.delivery import heartbeat
from tracker.delivery.failures import MESSAGE_PERMANENT, RECIPIENT_PERMANENT, SendFailure
from tracker.models import UNSENT, ClaimedRow, DeliveryRow, DigestDelivery, Notification, Subscriber


def claim_update(model: type[ClaimedRow], unsent: Q, ids: Sequence[int]) -> tuple[uuid.UUID, int]:
    """The claim itself, for any ClaimedRow (the tracker's deliveries, watch's
    candidates email): one conditional UPDATE of the `unsent`, unclaimed rows
    among `ids` under a new token, counting an attempt. Returns the token and
    how many rows it took."""
    token = uuid.uuid4()
    heartbeat.claims_asserted()
    claimed = model._default_manager.filter(
        unsent, pk__in=list(ids), claimed_at__isnull=True, attempts__lt=settings.TRACKER_MAX_ATTEMPTS
    ).update(
        claimed_at=timezone.now(),
        claim_token=token,
        claimed_by=heartbeat.current_worker_id(),
        attempts=F("attempts") + 1,
    )
    return token, claimed


def claim(model: type[Notification | DigestDelivery], ids: Sequence[int]) -> tuple[uuid.UUID, list]:
    """Claim the unsent, unclaimed rows among `ids`: one conditional UPDATE.
    Rows another worker holds, or that are done, are not returned."""
    token, claimed = claim_update(model, UNSENT, ids)
    if not claimed:
        return token, []
    # pk__in keeps this on the primary key: claim_token has no index.
    rows = list(model.objects.filter(pk__in=list(ids), claim_token=token).select_related("subscriber").order_by("pk"))
    return token, _drop_inactive(model, token, rows)


def claim_renew(model: type[Notification | DigestDelivery], token: uuid.UUID, rows: Sequence[DeliveryRow]) -> set[int]:
    """Re-assert this worker's claim on rows not sent yet and restart their
    clock; return the ids still held. A row missing from the answer was
    released by the sweeper (or finished) meanwhile: another worker may be
    sending it, so this one must not."""
    # On the primary key with the token, not the full UNSENT predicate: that
    # is the partial index's, and a planner with stale statistics walks the
    # index instead of the pk. The token is ours only while the row is
    # claimed and unfinished.
    # The heartbeat first: once it is written, the sweeper leaves this
    # worker's claims alone for a while, so what the UPDATE finds still held
    # stays held for the next message.
    heartbeat.beat()
    heartbeat.claims_asserted()
    mine = model.objects.filter(pk__in=[row.pk for row in rows], claim_token=token, sent_at__isnull=True)
    mine.update(claimed_at=timezone.now())
    return set(mine.values_list("pk", flat=True))


def _drop_inactive(model: type[Notification | DigestDelivery], token: uuid.UUID, rows: list) -> list:
    """Cancel rows whose subscriber left or bounced since the row was written."""
    inactive = [row.pk for row in rows if not row.subscriber.is_active]
    if inactive:
        model.objects.filter(pk__in=inactive, claim_token=token).update(
            cancelled_at=timezone.now(),
            last_error="The subscriber unsubscribed or the address bounced.",
        )
    return [row for row in rows if row.pk not in inactive]


def row_failed(
    model: type[Notification | DigestDelivery],
    token: uuid.UUID,
    row: Notification | DigestDelivery,
    failure: SendFailure,
) -> bool:
    """Record a failure; True when the row was released for another try.
    A row this worker no longer holds (its claim was released and another
    worker took it) is left alone and never retried from here."""
    now = timezone.now()
    mine = model.objects.filter(pk=row.pk, claim_token=token, sent_at__isnull=True)  # on the pk, as claim_renew
    if failure.kind == RECIPIENT_PERMANENT:
        with transaction.atomic():
            mine.update(failed_at=now, last_error=failure.text)
            subscriber_suppress(subscriber_id=row.subscriber_id, reason=failure.text)
        return False
    if failure.kind == MESSAGE_PERMANENT or row.attempts >= settings.TRACKER_MAX_ATTEMPTS:
        mine.update(failed_at=now, last_error=failure.text)
        return False
    return bool(mine.update(claimed_at=None, claim_token=None, claimed_by=None, last_error=failure.text))


def subscriber_suppress(*, subscriber_id: int, reason: str) -> None:
    """Stop all mail to an address that bounced permanently."""
    now = timezone.now()
    Subscriber.objects.filter(pk=subscriber_id, suppressed_at__isnull=True).update(
        suppressed_at=now,
        suppressed_reason=reason[:500],
    )
    for model in (Notification, DigestDelivery):
        model.objects.filter(UNSENT, subscriber_id=subscriber_id, claimed_at__isnull=True).update(
            cancelled_at=now,
            last_error="The address bounced permanently.",
        )
