"""Celery tasks: beat queues the due sources every WATCH_POLL_EVERY seconds,
each source is claimed then polled in its own task (one slow or broken
source never holds up the others), and the link check runs weekly."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from watch import links, selectors, services

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
