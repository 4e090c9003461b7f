"""Control baselines: the legal control in force before the first recorded event."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from regulatory.models.reference import Jurisdiction
from regulatory.models.sources import SourceBase
from regulatory.models.vocabulary import (
    RECORD_DATE_VALIDATORS,
    Control,
    Precision,
    SourceGrade,
    _precision_field,
    _researched_fields,
    format_partial_date,
)


class ControlBaseline(models.Model):
    """The legal control of a substance in a jurisdiction in force before the
    first recorded event, so a cell before any decision reads e.g. 'Class A'
    rather than 'no decision'. A later decision with a control replaces it."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="baselines")
    substance = models.CharField(max_length=100)
    control = models.CharField(max_length=24, choices=Control.choices)
    instrument = models.CharField(max_length=300, help_text="Short name first, as for decisions.")
    since_on = models.DateField(
        null=True, blank=True, validators=RECORD_DATE_VALIDATORS, help_text="Empty when the start date is unknown."
    )
    since_precision = _precision_field()
    known_before = models.DateField(
        null=True,
        blank=True,
        validators=RECORD_DATE_VALIDATORS,
        help_text="With an unknown start: the first recorded event it precedes.",
    )
    verified = models.BooleanField(default=True)
    verification_note = models.TextField(blank=True)
    researched_on, researched_precision = _researched_fields()
    dataset_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    dataset_values = models.JSONField(default=dict, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction__position", "substance"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "substance"], name="baseline_unique_per_substance"),
            models.CheckConstraint(condition=Q(control__in=Control.values), name="baseline_control_valid"),
            models.CheckConstraint(condition=~Q(instrument=""), name="baseline_needs_instrument"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.substance}, {self.instrument}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not (self.instrument or "").strip():
            raise ValidationError({"instrument": "Name the instrument that sets this control."})

    @property
    def since_display(self) -> str:
        if self.since_on:
            return format_partial_date(self.since_on, self.since_precision)
        if self.known_before:
            return f"in force before {format_partial_date(self.known_before, Precision.DAY)}"
        return "start date unknown"


class BaselineSource(SourceBase):
    baseline = models.ForeignKey(ControlBaseline, on_delete=models.CASCADE, related_name="sources")
    history = HistoricalRecords()

    class Meta(SourceBase.Meta):
        constraints = [
            models.UniqueConstraint(fields=["baseline", "url"], name="baseline_source_unique_url"),
            models.CheckConstraint(condition=Q(grade__in=SourceGrade.values), name="baseline_source_grade_valid"),
        ]
