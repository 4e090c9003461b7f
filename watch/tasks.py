"""Celery tasks: beat queues the due sources every WATCH_POLL_EVERY seconds,
each source is claimed then polled in its own task (one slow or broken
source never holds up the others), the link check runs weekly, and the
editors' daily email of new candidates is planned and repaired every few
minutes."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from tracker.delivery.failures import retry_countdown
from watch import links, mail, selectors, services

logger = logging.getLogger(__name__)


@shared_task
def sources_poll_due() -> int:
    ids = list(selectors.sources_due(now=timezone.now()).values_list("pk", flat=True))
    for source_id in ids:
        source_poll.delay(source_id)
    return len(ids)


@shared_task
def source_poll(source_id: int) -> None:
    source = services.source_claim(source_id=source_id, now=timezone.now())
    if source is None:
        return  # not due any more, or another worker has it
    for report in services.sources_poll(sources=[source]):
        logger.info("%s", report)


@shared_task
def links_check() -> None:
    results = links.links_check()
    broken = sum(1 for r in results if r.status == "broken")
    logger.info("Link check: %d URL(s), %d broken", len(results), broken)


# The daily email of new candidates (watch/mail.py), with the delivery
# engine's time limits and retry rules.
_MAIL_LIMITS = {
    "soft_time_limit": settings.TRACKER_TASK_TIME_LIMIT,
    "time_limit": settings.TRACKER_TASK_TIME_LIMIT + 60,
}


@shared_task(**_MAIL_LIMITS)
def candidate_mail_run() -> None:
    """Beat, every few minutes: plan today's emails once it is time, and
    queue again whatever the broker or a dead worker lost."""
    run = mail.candidate_mail_run(now=timezone.now())
    for batch in run.batches:
        candidate_mail_send.delay(batch)
    if run.planned or run.requeued or run.claims_released or run.given_up:
        logger.info(
            "Candidate emails: %d planned, %d queued again, %d claim(s) released, %d given up",
            len(run.planned),
            len(run.requeued),
            run.claims_released,
            run.given_up,
        )


@shared_task(bind=True, max_retries=settings.TRACKER_MAX_RETRIES, **_MAIL_LIMITS)
def candidate_mail_send(self: Task, mail_ids: list[int]) -> None:
    retry_ids = mail.candidate_mail_batch_send(mail_ids=mail_ids)
    if not retry_ids:
        return
    if self.request.retries >= self.max_retries:
        logger.warning(
            "Candidate emails %s still failing after %d retries; left for the repair", retry_ids, self.request.retries
        )
        return
    raise self.retry(args=[retry_ids], countdown=retry_countdown(self.request.retries))
