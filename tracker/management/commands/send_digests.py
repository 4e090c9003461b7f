"""Send the daily or weekly digest now, as beat would."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from tracker import delivery
from tracker.models import DIGEST_CADENCES


class Command(BaseCommand):
    help = (
        "Send, now and in this process, the daily or weekly digest to every subscriber with changes not yet "
        "mailed. Subscribers with nothing new get nothing; running it twice sends nothing the second time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cadence", choices=[c.value for c in DIGEST_CADENCES])

    def handle(self, *args, cadence: str, **options) -> None:
        ids = delivery.digest_plan(cadence=cadence)
        left: list[int] = []
        for batch in delivery.batches(ids):
            left += delivery.digest_batch_send(delivery_ids=batch)
        outcome = delivery.digest_outcome(delivery_ids=ids)
        self.stdout.write(
            f"Sent {outcome['sent']} {cadence} digest(s); {outcome['failed']} failed, {len(left)} left to retry."
        )
        if left:
            self.stderr.write("Transient SMTP failures: the sweeper (beat) will send the rest; see the admin for why.")
