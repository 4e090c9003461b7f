from django.core.management.base import BaseCommand

from regulatory.models import LinkStatus
from watch.links import links_check


class Command(BaseCommand):
    help = "Check every source URL of the public record (HEAD, then GET where HEAD is refused) and print the result."

    def handle(self, *args, **options) -> None:
        results = links_check()
        for result in results:
            if result.status in (LinkStatus.BROKEN, LinkStatus.FAILING) or not result.status:
                self.stdout.write(f"{result.status.upper() or 'ERROR'} {result.url}: {result.reason}")
            elif result.status == LinkStatus.REDIRECTED:
                self.stdout.write(f"redirected {result.url} -> {result.final_url}")
        counts = {status: sum(1 for r in results if r.status == status) for status in LinkStatus.values}
        self.stdout.write(f"{len(results)} URL(s) checked: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
