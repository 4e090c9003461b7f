"""Decisions: one regulatory event, with its three status dimensions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from regulatory.models.programmes import AccessProgramme
from regulatory.models.reference import Jurisdiction, Regulator, Therapy
from regulatory.models.vocabulary import (
    LIVE_STATES,
    RECORD_DATE_VALIDATORS,
    ApprovalStage,
    Control,
    DecisionKind,
    DecisionState,
    Precision,
    _precision_field,
    _researched_fields,
    format_partial_date,
)


class Decision(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="decisions")
    regulator = models.ForeignKey(
        Regulator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        help_text="Empty for events with no deciding body, such as a journal publication.",
    )
    therapies = models.ManyToManyField(Therapy, related_name="decisions")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    title = models.CharField(max_length=300)
    summary = models.TextField()

    announced_on = models.DateField(validators=RECORD_DATE_VALIDATORS)
    announced_precision = _precision_field()
    effective_on = models.DateField(
        null=True,
        blank=True,
        validators=RECORD_DATE_VALIDATORS,
        help_text="When the decision takes effect; required when it sets a status.",
    )
    effective_precision = _precision_field()
    target_on = models.DateField(
        null=True, blank=True, validators=RECORD_DATE_VALIDATORS, help_text="A target date, e.g. a PDUFA action date."
    )
    target_precision = _precision_field()

    substance = models.CharField(
        max_length=100,
        blank=True,
        help_text="Set when the decision concerns a substance (e.g. scheduling): it then applies to every therapy "
        "with that substance in the jurisdiction.",
    )
    control = models.CharField(
        max_length=24,
        choices=Control.choices,
        blank=True,
        default="",
        help_text="The control of the substance this decision sets from its effective date on.",
    )
    control_instrument = models.CharField(
        max_length=300,
        blank=True,
        help_text="The legal instrument, short name first: 'Schedule I, Controlled Substances Act'. "
        "The headline shows the text before the first comma.",
    )
    approval_stage = models.CharField(
        max_length=16,
        choices=ApprovalStage.choices,
        blank=True,
        default="",
        help_text="The approval stage this decision sets for its therapies.",
    )
    access_programme = models.ForeignKey(
        AccessProgramme, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    verified = models.BooleanField(default=True, help_text="Unticked when a detail could not be confirmed in a source.")
    verification_note = models.TextField(blank=True)
    researched_on, researched_precision = _researched_fields()

    state = models.CharField(max_length=10, choices=DecisionState.choices, default=DecisionState.DRAFT, editable=False)
    # Moved on by every write through regulatory.services, and checked in
    # that write's UPDATE: an edit based on an older version is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The dataset row this decision was loaded from, and the values the loader
    # last wrote: a field whose value differs from them was changed by an editor
    # and is never overwritten by a later load.
    dataset_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    dataset_values = models.JSONField(default=dict, blank=True, editable=False)

    history = HistoricalRecords(m2m_fields=[therapies])
    # Set by the services before a save: the user simple_history records.
    _history_user: Any
    # Annotated by the selectors that list decisions (decision_latest_recorded_at).
    recorded_at: dt.datetime | None

    class Meta:
        ordering = ["announced_on", "id"]
        indexes = [
            models.Index(fields=["jurisdiction", "announced_on"], name="decision_jur_announced"),
            models.Index(fields=["state", "effective_on"], name="decision_control_effective", condition=~Q(control="")),
            models.Index(
                fields=["state", "effective_on"], name="decision_stage_effective", condition=~Q(approval_stage="")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_on__isnull=True) | Q(effective_on__gte=F("announced_on")),
                name="decision_effective_not_before_announced",
                violation_error_message="The effective date cannot be before the announcement.",
            ),
            models.CheckConstraint(
                condition=Q(target_on__isnull=True) | Q(target_on__gte=F("announced_on")),
                name="decision_target_not_before_announced",
                violation_error_message="The target date cannot be before the announcement.",
            ),
            models.CheckConstraint(
                condition=(Q(control="") & Q(approval_stage="")) | Q(effective_on__isnull=False),
                name="decision_status_needs_effective_date",
                violation_error_message="A decision that sets a control or an approval stage needs an effective date.",
            ),
            models.CheckConstraint(
                condition=Q(control="") | ~Q(control_instrument=""),
                name="decision_control_needs_instrument",
                violation_error_message="A decision that sets a control needs its instrument.",
            ),
            models.CheckConstraint(
                condition=Q(control="") | Q(control__in=Control.values), name="decision_control_valid"
            ),
            models.CheckConstraint(
                condition=Q(approval_stage="") | Q(approval_stage__in=ApprovalStage.values),
                name="decision_approval_stage_valid",
            ),
            models.CheckConstraint(condition=Q(kind__in=DecisionKind.values), name="decision_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=DecisionState.values), name="decision_state_valid"),
            models.CheckConstraint(
                condition=Q(state=DecisionState.DRAFT) | Q(published_at__isnull=False),
                name="decision_published_has_time",
            ),
            models.CheckConstraint(
                condition=Q(announced_precision__in=Precision.values)
                & Q(effective_precision__in=Precision.values)
                & Q(target_precision__in=Precision.values),
                name="decision_precision_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("regulatory-decision", args=[self.pk])

    def clean(self) -> None:
        # The same rules as the check constraints, attached to the field an
        # editor has to fix (constraint errors would show at the form's top).
        from django.core.exceptions import ValidationError

        errors = {}
        if self.effective_on and self.announced_on and self.effective_on < self.announced_on:
            errors["effective_on"] = "The effective date cannot be before the announcement."
        if (self.control or self.approval_stage) and not self.effective_on:
            errors["effective_on"] = (
                "A decision that sets a control or an approval stage needs the date it takes effect."
            )
        if self.control and not self.control_instrument.strip():
            errors["control_instrument"] = (
                "Name the instrument that sets this control (e.g. 'Schedule I, Controlled Substances Act')."
            )
        if self.target_on and self.announced_on and self.target_on < self.announced_on:
            errors["target_on"] = "The target date cannot be before the announcement."
        if (
            self.regulator_id
            and self.jurisdiction_id
            and self.regulator is not None
            and self.regulator.jurisdiction_id not in (self.jurisdiction_id, self.jurisdiction.parent_id)
        ):
            errors["regulator"] = f"{self.regulator} is not a regulator of {self.jurisdiction}."
        if errors:
            raise ValidationError(errors)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def sets_status(self) -> bool:
        return bool(self.control or self.approval_stage)

    @property
    def status_summary(self) -> str:
        """What this decision sets, in words: 'Prohibited (Schedule I, Controlled
        Substances Act); approval stage: investigational'."""
        parts = []
        if self.control:
            parts.append(f"{self.get_control_display()} ({self.control_instrument})")
        if self.approval_stage:
            parts.append(f"approval stage: {self.get_approval_stage_display().lower()}")
        return "; ".join(parts)

    @property
    def researched_display(self) -> str:
        return format_partial_date(self.researched_on, self.researched_precision)

    @property
    def is_draft(self) -> bool:
        return self.state == DecisionState.DRAFT

    @property
    def announced_display(self) -> str:
        return format_partial_date(self.announced_on, self.announced_precision)

    @property
    def effective_display(self) -> str:
        return format_partial_date(self.effective_on, self.effective_precision)

    @property
    def target_display(self) -> str:
        return format_partial_date(self.target_on, self.target_precision)
