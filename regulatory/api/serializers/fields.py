"""The API's own fields: blank-aware choices, code lists, dates in the record's range, precisions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from regulatory.dates import EARLIEST_DATE, LATEST_DATE
from regulatory.models import (
    Precision,
)


def api_url(name: str, *args: Any) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


class BlankChoiceField(serializers.ChoiceField):
    """A choice, or null for a decision that sets none (stored as "")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value: str | None) -> str | None:  # type: ignore[override]  # null: the field allows it
        return value or None

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF would pass a null straight through (allow_null), and the column
        # is NOT NULL: store the null the API returns as "no status".
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> str:
        if data in (None, ""):
            return ""
        return super().to_internal_value(data)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class CodeListField(serializers.Field):
    """Codes or slugs of related rows, read from a (prefetched) manager."""

    def __init__(self, *, attribute: str, **kwargs: Any) -> None:
        self.attribute = attribute
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, manager: Any) -> list[str]:
        return [getattr(row, self.attribute) for row in manager.all()]


@extend_schema_field(
    {
        "type": "string",
        "format": "date",
        "pattern": r"^(19\d\d|2[01]\d\d|2200)-\d\d-\d\d$",
        "description": "YYYY-MM-DD, from 1900-01-01 to 2200-12-31.",
    }
)
class RecordDateField(serializers.DateField):
    """An ISO date from EARLIEST_DATE to LATEST_DATE."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}."
        self.validators.append(MinValueValidator(EARLIEST_DATE, message=message))
        self.validators.append(MaxValueValidator(LATEST_DATE, message=message))


def _precision(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Precision.choices,
        default=Precision.DAY,
        help_text="How much of the date beside it is known: day, month or year. "
        "A month or a year is stored as its first day.",
        **kwargs,
    )
