"""Instant mail: the fan-out of a Change to the subscribers it matches, and
the batches that send its notifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from regulatory.models import Change
from tracker import emails, selectors
from tracker.delivery.claims import claim, claim_renew, row_failed
from tracker.delivery.connection import send_over_one_connection
from tracker.delivery.marks import notification_recorder
from tracker.models import UNSENT, ChangeFanOut, Notification


@dataclass(frozen=True)
class FanOutStep:
    notification_ids: list[int]
    more: bool


def change_fan_out(*, change_id: int) -> FanOutStep:
    """One step of a change's fan-out: write the Notification rows for the
    next chunk of subscribers it matches, and return them to be sent.

    Keyset pagination over subscriber ids; the position is kept in
    ChangeFanOut and advanced with a conditional UPDATE in the same
    transaction as the bulk insert, so a second fan-out of the same change
    (a redelivered task, the sweeper) either continues from there or stops."""
    change = (
        Change.objects.select_related("decision__jurisdiction")
        .prefetch_related("decision__therapies")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        return FanOutStep([], more=False)
    fan_out, _ = ChangeFanOut.objects.get_or_create(change_id=change_id)
    if fan_out.completed_at is not None:
        return FanOutStep([], more=False)
    if change.is_import:  # history loaded from the dataset is never news
        ChangeFanOut.objects.filter(pk=change_id).update(completed_at=timezone.now())
        return FanOutStep([], more=False)
    limit = settings.TRACKER_FAN_OUT_CHUNK
    scope = selectors.change_scopes([change])[change_id]
    subscriber_ids = selectors.fan_out_subscriber_ids(
        change_id=change_id,
        scope=scope,
        after_subscriber_id=fan_out.last_subscriber_id,
        limit=limit,
    )
    more = len(subscriber_ids) == limit
    with transaction.atomic():
        advanced = ChangeFanOut.objects.filter(
            pk=change_id,
            last_subscriber_id=fan_out.last_subscriber_id,
            completed_at__isnull=True,
        ).update(
            last_subscriber_id=subscriber_ids[-1] if subscriber_ids else fan_out.last_subscriber_id,
            completed_at=None if more else timezone.now(),
            stepped_at=timezone.now(),
        )
        if not advanced:  # another run of this fan-out got here first
            return FanOutStep([], more=False)
        _notifications_insert(change_id=change_id, subscriber_ids=subscriber_ids)
    notification_ids = list(
        Notification.objects.filter(
            UNSENT, change_id=change_id, subscriber_id__in=subscriber_ids, claimed_at__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return FanOutStep(notification_ids, more=more)


def _notifications_insert(*, change_id: int, subscriber_ids: Sequence[int]) -> None:
    """One Notification row per subscriber for the change; a row that exists
    already is left as it is. On PostgreSQL one INSERT ... SELECT over an
    array, without building a model instance per row."""
    if not subscriber_ids:
        return
    if db_connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [Notification(subscriber_id=sid, change_id=change_id) for sid in subscriber_ids],
            ignore_conflicts=True,
            batch_size=500,
        )
        return
    table = db_connection.ops.quote_name(Notification._meta.db_table)
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscriber_id, change_id, created_at, attempts, last_error, message_id) "
            "SELECT subscriber_id, %s, %s, 0, '', '' FROM unnest(%s::bigint[]) AS subscriber_id "
            "ON CONFLICT DO NOTHING",
            [change_id, timezone.now(), list(subscriber_ids)],
        )


def notifications_write(*, subscriber_id: int, change_ids: Sequence[int]) -> list[int]:
    """Write instant Notification rows for one subscriber outside the fan-out
    (e.g. the unmailed changes of a subscription that leaves a digest) and
    return the ids still to send. A row that exists already (the fan-out, or
    another instant subscription, got there first) is not written twice."""
    if not change_ids:
        return []
    Notification.objects.bulk_create(
        [Notification(subscriber_id=subscriber_id, change_id=change_id) for change_id in change_ids],
        ignore_conflicts=True,
        batch_size=500,
    )
    return list(
        Notification.objects.filter(
            UNSENT, subscriber_id=subscriber_id, change_id__in=list(change_ids), claimed_at__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def notification_batch_send(*, notification_ids: Sequence[int]) -> list[int]:
    """Claim and send instant notifications; return the ids to retry later."""
    token, rows = claim(Notification, notification_ids)
    if not rows:
        return []
    changes = selectors.changes_for_delivery({row.change_id for row in rows})
    personaliser = emails.Personaliser()

    def build(row: Notification) -> emails.Outgoing:
        change = changes[row.change_id]
        return personaliser.outgoing(
            key=row.change_id,
            recipient=emails.notification_recipient(row),
            render=lambda recipient: emails.change_email(change, recipient),
        )

    with notification_recorder(token) as recorder:
        retry = send_over_one_connection(
            rows,
            build=build,
            recorder=recorder,
            on_failure=lambda row, failure: row_failed(Notification, token, row, failure),
            renew=lambda rest: claim_renew(Notification, token, rest),
        )
    return [row.pk for row in retry]
