import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from watch.models import WatchedSource
from watch.selectors import sources_due
from watch.services import source_claim, sources_poll


class Command(BaseCommand):
    help = (
        "Poll the watched sources and print what each one gave. Without --once, keeps polling the sources "
        "that are due, as beat does."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Poll every enabled source once, then stop.")
        parser.add_argument("--source", metavar="NAME", help="Poll only this source (by name), due or not.")
        parser.add_argument("--every", type=int, default=60, help="Seconds between two rounds without --once.")

    def handle(self, *args, once: bool, source: str | None, every: int, **options) -> None:
        if source:
            found = WatchedSource.objects.filter(name=source).first()
            if found is None:
                names = ", ".join(WatchedSource.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"No watched source is named {source!r}. Sources: {names}")
            self._report(sources_poll(sources=[found]))
            return
        if once:
            self._report(sources_poll(sources=list(WatchedSource.objects.filter(enabled=True).order_by("name"))))
            return
        while True:
            now = timezone.now()
            claimed = [
                s
                for s in (
                    source_claim(source_id=pk, now=now) for pk in sources_due(now=now).values_list("pk", flat=True)
                )
                if s
            ]
            self._report(sources_poll(sources=claimed))
            time.sleep(every)

    def _report(self, reports) -> None:
        for report in reports:
            self.stdout.write(str(report))
            for candidate in report.created:
                self.stdout.write(
                    f"  + {candidate.title} <{candidate.url}> [{', '.join(t.slug for t in candidate.therapies.all())}]"
                )
        created = sum(len(r.created) for r in reports)
        failed = sum(1 for r in reports if r.error)
        self.stdout.write(f"{len(reports)} source(s) polled: {created} new candidate(s), {failed} failed.")
