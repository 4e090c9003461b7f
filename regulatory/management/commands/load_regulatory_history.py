from django.core.management.base import BaseCommand, CommandError

from regulatory.loader import DatasetError, history_load


class Command(BaseCommand):
    help = "Load the shipped history of regulatory decisions (idempotent; never overwrites editors' changes)."

    def add_arguments(self, parser):
        parser.add_argument("--file", help="A dataset file other than regulatory/data/history.yaml.")

    def handle(self, *args, **options):
        try:
            report = history_load(options.get("file"))
        except DatasetError as exc:
            raise CommandError(f"The dataset was not loaded; nothing changed.\n{exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Regulatory history loaded: {report}."))
        for name in report.kept_editor_values:
            self.stdout.write(f"  kept the editor's value of {name}")
