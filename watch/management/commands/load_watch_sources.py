from django.core.management.base import BaseCommand

from watch.services import sources_load


class Command(BaseCommand):
    help = "Add the shipped watched sources (watch/data.py) that are missing; never overwrites an editor's changes."

    def handle(self, *args, **options) -> None:
        created, linked = sources_load()
        self.stdout.write(f"Watched sources: {created} added, {linked} linked to their jurisdiction or regulator.")
