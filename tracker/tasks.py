"""Celery tasks. Each takes ids, calls one function in tracker/delivery.py and
queues what it returns; the logic and its tests live there.

Retries are explicit and narrow: delivery functions return the ids that
failed transiently (SMTP 4xx, disconnects, timeouts), and only those are
retried, after a short countdown (seconds to minutes, never a long ETA that
the Redis visibility timeout would redeliver). After TRACKER_MAX_RETRIES the
rows stay unsent in the database, where the sweeper finds them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import Task, shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from tracker import delivery
from tracker.models import DIGEST_CADENCES

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args) -> bool:
    """Queue a task from an on-commit hook. If the broker is down the work is
    not lost (the rows are committed and the sweeper will queue them), so
    the web request or the editor's publish must not fail because of it."""
    try:
        task.delay(*args)
    except OperationalError as exc:
        logger.warning("Broker unavailable; %s%r left for the sweeper: %s", task.name, args, exc)
        return False
    return True


def _batches(ids: Sequence[int]) -> list[list[int]]:
    size = settings.TRACKER_SEND_BATCH
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def _retry_later(task: Task, ids: list[int]) -> None:
    if task.request.retries >= task.max_retries:
        logger.warning("%s: %d row(s) still failing after %d retries; left for the sweeper",
                       task.name, len(ids), task.request.retries)
        return
    raise task.retry(args=[ids], countdown=delivery.retry_countdown(task.request.retries))


@shared_task
def change_fan_out(change_id: int) -> None:
    """Notify the next chunk of subscribers a change matches, then queue the rest."""
    step = delivery.fan_out_step(change_id=change_id)
    for batch in _batches(step.notification_ids):
        notification_send_batch.delay(batch)
    if step.more:
        change_fan_out.delay(change_id)


@shared_task(bind=True, max_retries=settings.TRACKER_MAX_RETRIES)
def notification_send_batch(self: Task, notification_ids: list[int]) -> None:
    retry_ids = delivery.notification_batch_send(notification_ids=notification_ids)
    if retry_ids:
        _retry_later(self, retry_ids)


@shared_task
def digest_run(cadence: str) -> None:
    """Beat: plan today's daily (or this week's weekly) digests and queue them."""
    if cadence not in DIGEST_CADENCES:
        raise ValueError(f"digest_run: unknown cadence {cadence!r}")
    def queue(ids: list[int]) -> None:
        # A broker error must not stop the planning: the rows are written, and
        # the sweeper queues what could not be queued here.
        for batch in _batches(ids):
            enqueue(digest_send_batch, batch)

    # Each planned chunk is queued at once: other workers send while this one plans.
    delivery.digest_plan(cadence=cadence, on_chunk=queue)


@shared_task(bind=True, max_retries=settings.TRACKER_MAX_RETRIES)
def digest_send_batch(self: Task, delivery_ids: list[int]) -> None:
    retry_ids = delivery.digest_batch_send(delivery_ids=delivery_ids)
    if retry_ids:
        _retry_later(self, retry_ids)


@shared_task(bind=True, max_retries=settings.TRACKER_MAX_RETRIES)
def confirmation_send(self: Task, subscription_id: int) -> None:
    if delivery.confirmation_deliver(subscription_id=subscription_id):
        if self.request.retries >= self.max_retries:
            logger.warning("Confirmation %s still failing; left for the sweeper", subscription_id)
            return
        raise self.retry(args=[subscription_id], countdown=delivery.retry_countdown(self.request.retries))


def requeue(plan: delivery.SweepPlan) -> None:
    """Queue everything the sweeper found."""
    for change_id in plan.change_ids:
        change_fan_out.delay(change_id)
    for batch in plan.notification_batches:
        notification_send_batch.delay(batch)
    for batch in plan.digest_batches:
        digest_send_batch.delay(batch)
    for subscription_id in plan.confirmation_ids:
        confirmation_send.delay(subscription_id)


@shared_task
def stalled_requeue() -> None:
    """Beat: the sweeper. Re-queues unfinished fan-outs and unsent rows."""
    plan = delivery.stalled_find(stale_after=settings.TRACKER_STALE_AFTER, claim_timeout=settings.TRACKER_CLAIM_TIMEOUT)
    requeue(plan)
    if plan.change_ids or plan.notification_batches or plan.digest_batches or plan.claims_released or plan.given_up:
        logger.info(
            "Sweeper: %d fan-out(s), %d notification batch(es), %d digest batch(es), %d confirmation(s) queued; "
            "%d claim(s) released, %d row(s) given up",
            len(plan.change_ids), len(plan.notification_batches), len(plan.digest_batches),
            len(plan.confirmation_ids), plan.claims_released, plan.given_up,
        )
