"""Bring an organisation's existing list over as confirmed subscribers."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker import services


class Command(BaseCommand):
    help = (
        "Import subscribers from a CSV file with the columns email,cadence,jurisdictions,therapies,kinds "
        "(lists space-separated, empty = all). Rows are imported as confirmed subscribers whose "
        "subscriptions start now (no history is sent). Running it again changes nothing. Rejected rows "
        "are reported with their line number and reason; addresses that unsubscribed or bounced are never re-added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the CSV file (UTF-8).")

    def handle(self, *args, file: str, **options) -> None:
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                report = services.subscribers_import(rows=services.subscribers_csv_rows(handle))
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: is not UTF-8 text") from None
        except ValueError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for line, reason in report.rejected:
            self.stderr.write(f"line {line}: rejected: {reason}")
        self.stdout.write(
            f"{report.subscriptions_created} subscription(s) imported "
            f"({report.subscribers_created} new subscriber(s)), {report.unchanged} already present, "
            f"{len(report.rejected)} rejected."
        )
