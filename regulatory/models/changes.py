"""Dataset releases and Change rows (the public history and the outbox)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from regulatory.models.decisions import Decision


class DatasetRelease(models.Model):
    """A version of the shipped dataset, recorded each time a new one is loaded."""

    version = models.CharField(max_length=40, unique=True)
    researched_on = models.DateField(help_text="The date the dataset's facts were researched (default per fact).")
    loaded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return self.version


class ChangeKind(models.TextChoices):
    PUBLISH = "publish", "New decision"
    AMEND = "amend", "Amendment"
    CORRECT = "correct", "Correction"
    RETRACT = "retract", "Retraction"


class Change(models.Model):
    """One publish, amendment, correction or retraction, written in the same
    transaction as the edit. Append-only; its id is the monotonic sequence that
    subscribers' watermarks refer to (services serialise Change writes so ids
    commit in order)."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    diff = models.JSONField(default=dict, help_text="{field: [old, new]} for every field that changed.")
    note = models.TextField(blank=True, help_text="The editor's reason, shown publicly.")
    recorded_at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    late_reported = models.BooleanField(
        default=False, help_text="The decision was announced well before it was recorded here."
    )
    is_import = models.BooleanField(
        default=False, help_text="Written by a bulk load of the historical dataset: history, not news."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ChangeKind.values), name="change_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.decision_id}"
