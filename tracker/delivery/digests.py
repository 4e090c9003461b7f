"""Digests: planning a cadence's DigestDelivery rows, and sending them with
each subscriber's watermark moved in the transaction that records the send."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from regulatory.models import Change
from tracker import emails, selectors
from tracker.delivery.claims import claim, claim_renew, row_failed
from tracker.delivery.connection import send_over_one_connection
from tracker.delivery.marks import digest_recorder
from tracker.models import UNSENT, DigestDelivery, Subscriber


def digest_plan(
    *, cadence: str, now: dt.datetime | None = None, on_chunk: Callable[[list[int]], None] | None = None
) -> list[int]:
    """Write a DigestDelivery row for every active subscriber whose `cadence`
    digest has changes since their watermark; return the ids to send (new
    rows, and older ones never sent). `on_chunk` gets each chunk's ids as
    soon as they are committed (beat queues them, so sending overlaps planning).

    Empty digests get no row, and their watermark moves to `upto` at once,
    so that the next run does not read the same changes again for a
    subscriber whose scope never matches. That is safe because nothing in
    (watermark, upto] matches any of their `cadence` subscriptions, and the
    subscriber rows are locked while that is worked out: a subscription
    changed meanwhile (subscription_update takes the same lock) is seen
    before the watermark moves, never after."""
    now = now or timezone.now()
    upto = selectors.change_latest_id()
    period = selectors.digest_period(cadence, now)
    watermark_field = Subscriber.watermark_field(cadence)
    to_send: list[int] = []
    after_subscriber_id = 0
    while True:
        chunk = selectors.digest_subscriber_ids(
            cadence=cadence,
            after_subscriber_id=after_subscriber_id,
            limit=settings.TRACKER_FAN_OUT_CHUNK,
        )
        if not chunk:
            break
        after_subscriber_id = chunk[-1]
        with transaction.atomic():
            watermarks = dict(
                Subscriber.objects.select_for_update()
                .filter(pk__in=chunk)
                .order_by("pk")
                .values_list("pk", watermark_field)
            )
            bounds = {sid: (mark, upto) for sid, mark in watermarks.items() if mark < upto}
            contents = selectors.digest_build(cadence=cadence, bounds=bounds)
            if empty := [sid for sid in bounds if sid not in contents]:
                Subscriber.objects.filter(pk__in=empty, **{f"{watermark_field}__lt": upto}).update(
                    **{watermark_field: upto}
                )
                # A digest planned earlier for them and not sent yet covers a
                # part of that range, so it is empty too: drop it, so that no
                # unsent row ever lies below its subscriber's watermark.
                DigestDelivery.objects.filter(
                    UNSENT,
                    cadence=cadence,
                    subscriber_id__in=empty,
                    claimed_at__isnull=True,
                ).delete()
        if contents:
            with transaction.atomic():
                DigestDelivery.objects.bulk_create(
                    [
                        DigestDelivery(
                            subscriber_id=sid,
                            cadence=cadence,
                            after_change_id=bounds[sid][0],
                            upto_change_id=upto,
                            period=period,
                            change_count=len(changes),
                        )
                        for sid, changes in contents.items()
                    ],
                    ignore_conflicts=True,
                )
                # A digest planned earlier and not sent yet (its watermark
                # has not moved) takes in the newer changes too.
                DigestDelivery.objects.filter(
                    UNSENT,
                    cadence=cadence,
                    subscriber_id__in=list(contents),
                    claimed_at__isnull=True,
                    upto_change_id__lt=upto,
                ).update(upto_change_id=upto, period=period)
            chunk_ids = list(
                DigestDelivery.objects.filter(
                    UNSENT,
                    cadence=cadence,
                    subscriber_id__in=list(contents),
                    claimed_at__isnull=True,
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            to_send += chunk_ids
            if on_chunk is not None and chunk_ids:
                on_chunk(chunk_ids)
        if len(chunk) < settings.TRACKER_FAN_OUT_CHUNK:
            break
    return to_send


def digest_batch_send(*, delivery_ids: Sequence[int]) -> list[int]:
    """Claim and send digests; move each watermark in the same transaction
    that records the send. Returns the ids to retry later."""
    token, rows = claim(DigestDelivery, delivery_ids)
    if not rows:
        return []
    contents: dict[str, dict[int, list[Change]]] = {}
    for cadence in {row.cadence for row in rows}:
        contents[cadence] = selectors.digest_build(
            cadence=cadence,
            bounds={r.subscriber_id: (r.after_change_id, r.upto_change_id) for r in rows if r.cadence == cadence},
        )

    personaliser = emails.Personaliser()
    sent_before = selectors.digests_sent_before(subscriber_ids={row.subscriber_id for row in rows})

    def build(row: DigestDelivery) -> emails.Outgoing | None:
        changes = contents[row.cadence].get(row.subscriber_id)
        if not changes:
            # Nothing left to say (a subscription was removed meanwhile): an
            # empty digest is never sent, and the watermark stays.
            DigestDelivery.objects.filter(pk=row.pk, claim_token=token).delete()
            return None
        row.change_count = len(changes)
        first = (row.subscriber_id, row.cadence) not in sent_before
        # Subscribers with the same changes in the same period get the same
        # digest (a first digest is worded as one).
        key = (row.cadence, row.period, first, tuple(change.pk for change in changes))
        return personaliser.outgoing(
            key=key,
            recipient=emails.digest_recipient(row),
            render=lambda recipient: emails.digest_email(row.cadence, row.period, changes, recipient, first=first),
        )

    with digest_recorder(token) as recorder:
        retry = send_over_one_connection(
            rows,
            build=build,
            recorder=recorder,
            on_failure=lambda row, failure: row_failed(DigestDelivery, token, row, failure),
            renew=lambda rest: claim_renew(DigestDelivery, token, rest),
        )
    return [row.pk for row in retry]


def digest_outcome(*, delivery_ids: Sequence[int]) -> dict[str, int]:
    """How many of these digests were sent and how many failed, for reports."""
    rows = DigestDelivery.objects.filter(pk__in=list(delivery_ids))
    return {"sent": rows.filter(sent_at__isnull=False).count(), "failed": rows.filter(failed_at__isnull=False).count()}
