"""Run the sweeper now: re-queue what the broker or a dead worker lost."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tracker import delivery, tasks


class Command(BaseCommand):
    help = (
        "Re-queue changes whose fan-out is unfinished, notifications and digests not yet sent, and confirmation "
        "links not yet mailed, from the database alone (after Redis lost its tasks). Safe to run at any time: "
        "claims stop anything from being sent twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-after",
            type=int,
            default=settings.TRACKER_STALE_AFTER,
            metavar="SECONDS",
            help="Only rows and changes older than this (default TRACKER_STALE_AFTER=%(default)s). "
            "0 re-queues everything unsent now.",
        )
        parser.add_argument(
            "--claim-timeout",
            type=int,
            default=settings.TRACKER_CLAIM_TIMEOUT,
            metavar="SECONDS",
            help="Release claims older than this (default TRACKER_CLAIM_TIMEOUT=%(default)s). Use 0 only when "
            "no worker is running, e.g. after every worker was killed.",
        )

    def handle(self, *args, stale_after: int, claim_timeout: int, **options) -> None:
        plan = delivery.stalled_sweep(stale_after=max(0, stale_after), claim_timeout=max(0, claim_timeout))
        tasks.requeue(plan)
        notifications = sum(len(batch) for batch in plan.notification_batches)
        digests = sum(len(batch) for batch in plan.digest_batches)
        self.stdout.write(
            f"Re-queued {len(plan.change_ids)} fan-out(s), {notifications} notification(s), {digests} digest(s), "
            f"{len(plan.confirmation_ids)} confirmation(s); released {plan.claims_released} stale claim(s); "
            f"gave up on {plan.given_up} row(s); removed {plan.expired} expired pending subscription(s)."
        )
