"""Celery tasks. Each takes ids, calls the function of the same name in
tracker/delivery/ and queues what it returns; the logic and its tests live
there.

Retries are explicit and narrow: delivery functions return the ids that
failed transiently (SMTP 4xx, disconnects, timeouts), and only those are
retried, after a short countdown (seconds to minutes, never a long ETA that
the Redis visibility timeout would redeliver). After TRACKER_MAX_RETRIES the
rows stay unsent in the database, where the sweeper finds them.

Every delivery task has a soft and a hard time limit (TRACKER_TASK_TIME_LIMIT,
TRACKER_DIGEST_PLAN_TIME_LIMIT): a task stuck on a hung service gives its
worker child back instead of holding it for ever.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from tracker import delivery
from tracker.models import DIGEST_CADENCES

logger = logging.getLogger(__name__)

# Soft limit, then a minute for the task to give its rows back before the kill.
_LIMITS: dict[str, Any] = {
    "soft_time_limit": settings.TRACKER_TASK_TIME_LIMIT,
    "time_limit": settings.TRACKER_TASK_TIME_LIMIT + 60,
}
_PLAN_LIMITS: dict[str, Any] = {
    "soft_time_limit": settings.TRACKER_DIGEST_PLAN_TIME_LIMIT,
    "time_limit": settings.TRACKER_DIGEST_PLAN_TIME_LIMIT + 60,
}
_RETRIED: dict[str, Any] = {**_LIMITS, "bind": True, "max_retries": settings.TRACKER_MAX_RETRIES}


def enqueue(task: Task, *args: object) -> bool:
    """Queue a task from an on-commit hook. If the broker is down the work is
    not lost (the rows are committed and the sweeper will queue them), so
    the web request or the editor's publish must not fail because of it."""
    try:
        task.delay(*args)
    except OperationalError as exc:
        logger.warning("Broker unavailable; %s%r left for the sweeper: %s", task.name, args, exc)
        return False
    return True


def _retry_later(task: Task, ids: list[int]) -> None:
    if task.request.retries >= task.max_retries:
        logger.warning(
            "%s: %d row(s) still failing after %d retries; left for the sweeper",
            task.name,
            len(ids),
            task.request.retries,
        )
        return
    raise task.retry(args=[ids], countdown=delivery.retry_countdown(task.request.retries))


@shared_task(**_LIMITS)
def change_fan_out(change_id: int) -> None:
    """Notify the next chunk of subscribers a change matches, then queue the rest."""
    step = delivery.change_fan_out(change_id=change_id)
    for batch in delivery.batches(step.notification_ids):
        notification_batch_send.delay(batch)
    if step.more:
        change_fan_out.delay(change_id)


def _notification_batch_send(task: Task, notification_ids: list[int]) -> None:
    retry_ids = delivery.notification_batch_send(notification_ids=notification_ids)
    if retry_ids:
        _retry_later(task, retry_ids)


@shared_task(**_RETRIED)
def notification_batch_send(self: Task, notification_ids: list[int]) -> None:
    _notification_batch_send(self, notification_ids)


@shared_task(**_PLAN_LIMITS)
def digest_plan(cadence: str) -> None:
    """Beat: plan today's daily (or this week's weekly) digests and queue them."""
    if cadence not in DIGEST_CADENCES:
        raise ValueError(f"digest_plan: unknown cadence {cadence!r}")

    def queue(ids: list[int]) -> None:
        # A broker error must not stop the planning: the rows are written, and
        # the sweeper queues what could not be queued here.
        for batch in delivery.batches(ids):
            enqueue(digest_batch_send, batch)

    # Each planned chunk is queued at once: other workers send while this one plans.
    delivery.digest_plan(cadence=cadence, on_chunk=queue)


def _digest_batch_send(task: Task, delivery_ids: list[int]) -> None:
    retry_ids = delivery.digest_batch_send(delivery_ids=delivery_ids)
    if retry_ids:
        _retry_later(task, retry_ids)


@shared_task(**_RETRIED)
def digest_batch_send(self: Task, delivery_ids: list[int]) -> None:
    _digest_batch_send(self, delivery_ids)


@shared_task(**_RETRIED)
def confirmation_send(self: Task, subscription_id: int) -> None:
    if delivery.confirmation_send(subscription_id=subscription_id):
        if self.request.retries >= self.max_retries:
            logger.warning("Confirmation %s still failing; left for the sweeper", subscription_id)
            return
        raise self.retry(args=[subscription_id], countdown=delivery.retry_countdown(self.request.retries))


def requeue(plan: delivery.SweepPlan) -> None:
    """Queue everything the sweeper found."""
    for change_id in plan.change_ids:
        change_fan_out.delay(change_id)
    for batch in plan.notification_batches:
        notification_batch_send.delay(batch)
    for batch in plan.digest_batches:
        digest_batch_send.delay(batch)
    for subscription_id in plan.confirmation_ids:
        confirmation_send.delay(subscription_id)


def _stalled_sweep() -> None:
    plan = delivery.stalled_sweep(
        stale_after=settings.TRACKER_STALE_AFTER, claim_timeout=settings.TRACKER_CLAIM_TIMEOUT
    )
    requeue(plan)
    if plan.change_ids or plan.notification_batches or plan.digest_batches or plan.claims_released or plan.given_up:
        logger.info(
            "Sweeper: %d fan-out(s), %d notification batch(es), %d digest batch(es), %d confirmation(s) queued; "
            "%d claim(s) released, %d row(s) given up",
            len(plan.change_ids),
            len(plan.notification_batches),
            len(plan.digest_batches),
            len(plan.confirmation_ids),
            plan.claims_released,
            plan.given_up,
        )


@shared_task(**_LIMITS)
def stalled_sweep() -> None:
    """Beat: the sweeper. Re-queues unfinished fan-outs and unsent rows."""
    _stalled_sweep()


@shared_task(**_LIMITS)
def stalled_heal() -> None:
    """Beat, every few seconds: release dead workers' claims, re-queue what the broker lost."""
    plan = delivery.stalled_heal()
    requeue(plan)
    if plan.change_ids or plan.notification_batches or plan.digest_batches or plan.claims_released:
        logger.info(
            "Heal: %d fan-out(s), %d notification batch(es), %d digest batch(es) queued; %d claim(s) released",
            len(plan.change_ids),
            len(plan.notification_batches),
            len(plan.digest_batches),
            plan.claims_released,
        )


# The sweeper's own tasks: they do not make a worker "busy" (heartbeat.py).
SWEEPER_TASKS = frozenset(
    {"tracker.tasks.stalled_sweep", "tracker.tasks.stalled_heal", "tracker.tasks.stalled_requeue"}
)


# --- The names these tasks had before they matched their functions ------------
# A message queued under an old name (in Redis at deploy time: a batch, a
# retry's countdown, beat's last sweep) still runs. Nothing queues them any
# more; they can go once no broker can hold such a message (a release later).


@shared_task(name="tracker.tasks.notification_send_batch", **_RETRIED)
def notification_send_batch(self: Task, notification_ids: list[int]) -> None:
    _notification_batch_send(self, notification_ids)


@shared_task(name="tracker.tasks.digest_send_batch", **_RETRIED)
def digest_send_batch(self: Task, delivery_ids: list[int]) -> None:
    _digest_batch_send(self, delivery_ids)


@shared_task(name="tracker.tasks.digest_run", **_PLAN_LIMITS)
def digest_run(cadence: str) -> None:
    digest_plan(cadence)


@shared_task(name="tracker.tasks.stalled_requeue", **_LIMITS)
def stalled_requeue() -> None:
    _stalled_sweep()
