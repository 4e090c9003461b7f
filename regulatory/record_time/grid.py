"""Record time: the status cells at a past moment, by the same rule as today's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from regulatory import selectors
from regulatory.models import (
    Jurisdiction,
    Therapy,
)
from regulatory.record_time.parsing import BadRecordTime, RecordTime, recorded_as_of_parse
from regulatory.record_time.replay import RecordedDecision, facts_recorded, jurisdictions_recorded


def status_grid(
    *,
    as_of: dt.date,
    jurisdictions: list[Jurisdiction],
    therapies: list[Therapy],
    today: dt.date | None = None,
    recorded: RecordTime | None = None,
    decisions: Mapping[int, RecordedDecision] | None = None,
) -> dict[tuple[int, int], selectors.Cell]:
    """`selectors.cell_grid`, or with `recorded` the same cells as the
    tracker showed them at R (the jurisdictions given are updated to R)."""
    today = today or timezone.localdate()
    if recorded is None:
        return selectors.cell_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, today=today)
    jurisdictions_recorded(jurisdictions, at=recorded.at)
    facts = facts_recorded(
        as_of=as_of, at=recorded.at, jurisdictions=jurisdictions, therapies=therapies, decisions=decisions
    )
    return selectors.cells_assemble(
        as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, facts=facts, today=today
    )


def status_rows(
    *,
    as_of: dt.date,
    jurisdictions: list[Jurisdiction] | None = None,
    therapies: list[Therapy] | None = None,
    recorded: RecordTime | None = None,
) -> list[selectors.StatusRow]:
    """`selectors.status_rows`, optionally in record time."""
    if recorded is None:
        return selectors.status_rows(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies)
    if jurisdictions is None:
        jurisdictions = list(Jurisdiction.objects.order_by("position", "code"))
    if therapies is None:
        therapies = list(selectors.therapy_list())
    cells = status_grid(as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, recorded=recorded)
    return [
        selectors.StatusRow(jurisdiction=j, therapy=t, cell=cells[(j.pk, t.pk)])
        for j in jurisdictions
        for t in therapies
    ]


class RecordedAsOfField(forms.Field):
    """`recorded_as_of` in a form: a RecordTime or None (see `recorded_as_of_parse`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> RecordTime | None:
        try:
            return recorded_as_of_parse(value)
        except BadRecordTime as error:
            raise ValidationError(str(error), code="invalid") from None
