"""Importing an organisation's list of subscribers from CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tracker.services.subscribing import _scope_key, _subscriber_get_or_create, _subscription_create_confirmed
from tracker.services.validation import Scope, email_validate, scope_validate

# --- Importing an organisation's list ----------------------------------------

IMPORT_COLUMNS = ("email", "cadence", "jurisdictions", "therapies", "kinds")


@dataclass
class ImportReport:
    subscribers_created: int = 0
    subscriptions_created: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def subscribers_csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of an import CSV; ValueError
    when the header lacks a required column."""
    reader = csv.DictReader(lines)
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the header must name the columns {','.join(IMPORT_COLUMNS)}; missing: {', '.join(missing)}")
    for row in reader:
        yield reader.line_num, row


def subscribers_import(*, rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import rows as confirmed subscribers, each row on its own.

    Idempotent: a row whose address already holds the same subscription
    changes nothing. Addresses that unsubscribed or bounced are rejected,
    never re-subscribed. Imported subscriptions start now: no history."""
    report = ImportReport()
    for line, row in rows:
        try:
            email = email_validate(row.get("email") or "")
            scope = scope_validate(
                cadence=(row.get("cadence") or "").strip().lower(),
                jurisdictions=(row.get("jurisdictions") or "").split(),
                therapies=(row.get("therapies") or "").split(),
                kinds=(row.get("kinds") or "").split(),
            )
            outcome = _subscriber_import_one(email=email, scope=scope)
        except ValidationError as exc:
            report.rejected.append((line, _validation_text(exc)))
            continue
        if outcome == "unchanged":
            report.unchanged += 1
        else:
            report.subscriptions_created += 1
            report.subscribers_created += outcome == "new subscriber"
    return report


@transaction.atomic
def _subscriber_import_one(*, email: str, scope: Scope) -> str:
    subscriber = _subscriber_get_or_create(email)
    created = subscriber.confirmed_at is None
    if subscriber.unsubscribed_at is not None:
        raise ValidationError(f"{email} unsubscribed on {subscriber.unsubscribed_at:%Y-%m-%d}; not re-subscribed")
    if subscriber.suppressed_at is not None:
        raise ValidationError(f"{email} bounced permanently ({subscriber.suppressed_reason}); not imported")
    existing = subscriber.subscriptions.filter(confirmed_at__isnull=False).prefetch_related(
        "jurisdictions", "therapies", "kind_rows"
    )
    if any(_scope_key(s) == scope.key() for s in existing):
        return "unchanged"
    _subscription_create_confirmed(subscriber, scope, timezone.now())
    return "new subscriber" if created else "new subscription"


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    return " ".join(exc.messages)
