"""Access programmes: routes by which patients reach a therapy outside a trial."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from regulatory.models.reference import Jurisdiction, Regulator, Therapy
from regulatory.models.vocabulary import (
    RECORD_DATE_VALIDATORS,
    _precision_field,
    _researched_fields,
    format_partial_date,
)


class ProgrammeKind(models.TextChoices):
    EXPANDED_ACCESS = "expanded_access", "Sponsor expanded-access protocol"
    RIGHT_TO_TRY = "right_to_try", "Right to Try"
    AUTHORISED_PRESCRIBER = "authorised_prescriber", "Authorised Prescriber scheme"
    SPECIAL_ACCESS = "special_access", "Special access scheme"
    COMPASSIONATE_USE = "compassionate_use", "Compassionate use"
    NAMED_PATIENT = "named_patient", "Named-patient programme"
    LIMITED_MEDICAL_USE = "limited_medical_use", "Limited medical use"
    SUPERVISED_ADULT_USE = "supervised_adult_use", "Supervised adult-use programme"
    STATE_MEDICAL_PROGRAMME = "state_medical_programme", "State medical programme"
    REVIEW_PATHWAY = "review_pathway", "Review pathway (not an access route)"
    CLINICAL_TRIAL_SCHEME = "clinical_trial_scheme", "Clinical trial scheme (not an access route)"
    OTHER = "other", "Other"


# Kinds that give no patient access: never shown as a route in a cell.
NON_ROUTE_KINDS = (ProgrammeKind.REVIEW_PATHWAY, ProgrammeKind.CLINICAL_TRIAL_SCHEME)

# Short names for the headline ("EA protocol (closed)").
PROGRAMME_KIND_SHORT: dict[str, str] = {
    ProgrammeKind.EXPANDED_ACCESS: "EA protocol",
    ProgrammeKind.RIGHT_TO_TRY: "Right to Try",
    ProgrammeKind.AUTHORISED_PRESCRIBER: "Authorised prescribers",
    ProgrammeKind.SPECIAL_ACCESS: "Special access",
    ProgrammeKind.COMPASSIONATE_USE: "Compassionate use",
    ProgrammeKind.NAMED_PATIENT: "Named patient",
    ProgrammeKind.LIMITED_MEDICAL_USE: "Limited medical use",
    ProgrammeKind.SUPERVISED_ADULT_USE: "Supervised adult use",
    ProgrammeKind.STATE_MEDICAL_PROGRAMME: "State medical programme",
    ProgrammeKind.OTHER: "Access programme",
}


class ProgrammeState(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AccessProgramme(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="access_programmes")
    regulator = models.ForeignKey(
        Regulator, null=True, blank=True, on_delete=models.PROTECT, related_name="access_programmes"
    )
    kind = models.CharField(max_length=32, choices=ProgrammeKind.choices)
    therapies = models.ManyToManyField(
        Therapy,
        blank=True,
        related_name="access_programmes",
        help_text="The therapies it gives access to. With neither therapies nor a "
        "substance the programme is general and shows in no cell.",
    )
    substance = models.CharField(
        max_length=100, blank=True, help_text="Or: every therapy with this substance in the jurisdiction."
    )
    summary = models.TextField()
    opened_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    opened_precision = _precision_field()
    closed_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    closed_precision = _precision_field()
    known_until = models.DateField(
        null=True,
        blank=True,
        validators=RECORD_DATE_VALIDATORS,
        help_text="Last date it is known to be open; after it its state is unknown, not open.",
    )
    known_until_precision = _precision_field()
    state = models.CharField(max_length=10, choices=ProgrammeState.choices)
    eligibility = models.TextField(blank=True)
    prescriber_requirements = models.TextField(blank=True)
    capacity = models.CharField(
        max_length=200, blank=True, help_text="The scale, e.g. '50 patients at up to 10 sites'."
    )
    capped = models.BooleanField(
        default=False, help_text="Enrolment capped at a fixed number (e.g. a sponsor protocol for 50 patients)."
    )
    verified = models.BooleanField(default=True, help_text="Unticked when a fact could not be confirmed in a source.")
    verification_note = models.TextField(blank=True)
    researched_on, researched_precision = _researched_fields()
    dataset_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    dataset_values = models.JSONField(default=dict, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction__position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(opened_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                name="programme_closed_after_opened",
            ),
            models.CheckConstraint(
                condition=Q(known_until__isnull=True) | Q(opened_on__isnull=True) | Q(known_until__gte=F("opened_on")),
                name="programme_known_until_after_opened",
            ),
            models.CheckConstraint(condition=Q(kind__in=ProgrammeKind.values), name="programme_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=ProgrammeState.values), name="programme_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            errors["closed_on"] = "A programme cannot close before it opens."
        if self.opened_on and self.known_until and self.known_until < self.opened_on:
            errors["known_until"] = "The date it is known open to cannot be before it opens."
        if errors:
            raise ValidationError(errors)

    @property
    def is_route(self) -> bool:
        return self.kind not in NON_ROUTE_KINDS

    @property
    def known_until_display(self) -> str:
        return format_partial_date(self.known_until, self.known_until_precision)

    @property
    def opened_display(self) -> str:
        return format_partial_date(self.opened_on, self.opened_precision)

    @property
    def closed_display(self) -> str:
        return format_partial_date(self.closed_on, self.closed_precision)
