"""The regulatory record: who decides, about what, when, on what evidence.

`regulatory/` knows nothing of `tracker/`: it writes Change rows (its public
history and the outbox) and others read them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords



# The dates the record accepts: a wider range is a typing mistake (9999-12-31),
# and dates near the ends of Python's calendar break the date arithmetic of
# the feeds and the pages. The admin's forms and the API check it.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
_DATE_RANGE_MESSAGE = "Enter a date from 1900-01-01 to 2200-12-31."
RECORD_DATE_VALIDATORS = [MinValueValidator(EARLIEST_DATE, message=_DATE_RANGE_MESSAGE),
                          MaxValueValidator(LATEST_DATE, message=_DATE_RANGE_MESSAGE)]

class Precision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Status(models.TextChoices):
    PROHIBITED = "prohibited", "Prohibited"
    INVESTIGATIONAL = "investigational", "Investigational"
    UNDER_REVIEW = "under_review", "Under review"
    NOT_APPROVED = "not_approved", "Not approved"
    RESTRICTED_ACCESS = "restricted_access", "Restricted access"
    APPROVED = "approved", "Approved"


STATUS_DESCRIPTIONS: dict[str, str] = {
    Status.PROHIBITED: "Controlled with no recognised medical use; research only under special licence.",
    Status.INVESTIGATIONAL: "Studied in clinical trials; not available to patients outside them.",
    Status.UNDER_REVIEW: "A marketing application is being assessed by the regulator.",
    Status.NOT_APPROVED: "The regulator has refused or declined to approve the application as filed.",
    Status.RESTRICTED_ACCESS: "Prescribable only through a special scheme (authorised prescribers, named patients, compassionate use).",
    Status.APPROVED: "Approved for marketing for this indication.",
}


class DecisionKind(models.TextChoices):
    DESIGNATION = "designation", "Designation"
    SUBMISSION = "submission", "Submission"
    ACCEPTANCE = "acceptance", "Acceptance for review"
    ADVISORY_VOTE = "advisory_vote", "Advisory vote"
    APPROVAL = "approval", "Approval"
    REFUSAL = "refusal", "Refusal / complete response"
    SCHEDULING = "scheduling", "Scheduling change"
    GUIDANCE = "guidance", "Guidance"
    ACCESS_PROGRAMME = "access_programme", "Access programme"
    LEGISLATION = "legislation", "Legislation"
    TRIAL_RESULT = "trial_result", "Trial result"
    OTHER = "other", "Other"


class DecisionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    AMENDED = "amended", "Published, amended"
    CORRECTED = "corrected", "Published, corrected"
    RETRACTED = "retracted", "Retracted"


# States in which a decision is part of the public record and counts for status.
LIVE_STATES = (DecisionState.PUBLISHED, DecisionState.AMENDED, DecisionState.CORRECTED)
PUBLIC_STATES = (*LIVE_STATES, DecisionState.RETRACTED)


class SourceGrade(models.TextChoices):
    OFFICIAL = "official", "Official document"
    SPONSOR = "sponsor", "Sponsor statement"
    SECONDARY = "secondary", "Secondary report"


def format_partial_date(value: dt.date | None, precision: str) -> str:
    """A date as precise as it is known: '9 Aug 2024', 'Aug 2017' or '2023'."""
    if value is None:
        return ""
    if precision == Precision.YEAR:
        return f"{value.year}"
    if precision == Precision.MONTH:
        return value.strftime("%b %Y")
    return f"{value.day} {value.strftime('%b %Y')}"


def _precision_field(**kwargs) -> models.CharField:
    return models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY, **kwargs)


class Jurisdiction(models.Model):
    code = models.SlugField(max_length=16, unique=True, help_text="Lowercase code, e.g. us, au, eu, de.")
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="members",
        help_text="The union a member state belongs to (e.g. de under eu).",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the matrix.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(code=models.functions.Lower("code")), name="jurisdiction_code_lowercase"),
        ]

    def __str__(self) -> str:
        return self.name


class Regulator(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="regulators")
    website = models.URLField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction__position", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code.upper()})"


class Therapy(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, help_text="Display name, e.g. MDMA-assisted therapy for PTSD.")
    substance = models.CharField(max_length=100)
    indication = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "therapies"

    def __str__(self) -> str:
        return self.name


class ProgrammeKind(models.TextChoices):
    EXPANDED_ACCESS = "expanded_access", "Expanded access"
    RIGHT_TO_TRY = "right_to_try", "Right to Try"
    AUTHORISED_PRESCRIBER = "authorised_prescriber", "Authorised Prescriber scheme"
    SPECIAL_ACCESS = "special_access", "Special access scheme"
    COMPASSIONATE_USE = "compassionate_use", "Compassionate use"
    NAMED_PATIENT = "named_patient", "Named-patient programme"
    LIMITED_MEDICAL_USE = "limited_medical_use", "Limited medical use"
    OTHER = "other", "Other"


class ProgrammeState(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AccessProgramme(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="access_programmes")
    regulator = models.ForeignKey(Regulator, null=True, blank=True, on_delete=models.PROTECT, related_name="access_programmes")
    kind = models.CharField(max_length=32, choices=ProgrammeKind.choices)
    therapies = models.ManyToManyField(Therapy, blank=True, related_name="access_programmes",
                                       help_text="Leave empty when the programme is not specific to one therapy.")
    summary = models.TextField()
    opened_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    opened_precision = _precision_field()
    closed_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    closed_precision = _precision_field()
    state = models.CharField(max_length=10, choices=ProgrammeState.choices)
    eligibility = models.TextField(blank=True)
    prescriber_requirements = models.TextField(blank=True)
    capacity = models.CharField(max_length=200, blank=True)
    verified = models.BooleanField(default=True, help_text="Unticked when a fact could not be confirmed in a source.")
    verification_note = models.TextField(blank=True)
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
            models.CheckConstraint(condition=Q(kind__in=ProgrammeKind.values), name="programme_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=ProgrammeState.values), name="programme_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def opened_display(self) -> str:
        return format_partial_date(self.opened_on, self.opened_precision)

    @property
    def closed_display(self) -> str:
        return format_partial_date(self.closed_on, self.closed_precision)


class Decision(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="decisions")
    regulator = models.ForeignKey(Regulator, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions",
                                  help_text="Empty for events with no deciding body, such as a journal publication.")
    therapies = models.ManyToManyField(Therapy, related_name="decisions")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    title = models.CharField(max_length=300)
    summary = models.TextField()

    announced_on = models.DateField(validators=RECORD_DATE_VALIDATORS)
    announced_precision = _precision_field()
    effective_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS,
                                    help_text="When the decision takes effect; required when it sets a status.")
    effective_precision = _precision_field()
    target_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS,
                                 help_text="A target date, e.g. a PDUFA action date.")
    target_precision = _precision_field()

    status = models.CharField(max_length=20, choices=Status.choices, blank=True, default="",
                              help_text="The status this decision sets for its therapies from its effective date on.")
    access_programme = models.ForeignKey(AccessProgramme, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="decisions")
    verified = models.BooleanField(default=True, help_text="Unticked when a detail could not be confirmed in a source.")
    verification_note = models.TextField(blank=True)

    state = models.CharField(max_length=10, choices=DecisionState.choices, default=DecisionState.DRAFT, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The dataset row this decision was loaded from, and the values the loader
    # last wrote: a field whose value differs from them was changed by an editor
    # and is never overwritten by a later load.
    dataset_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    dataset_values = models.JSONField(default=dict, blank=True, editable=False)

    history = HistoricalRecords(m2m_fields=[therapies])

    class Meta:
        ordering = ["announced_on", "id"]
        indexes = [
            models.Index(fields=["jurisdiction", "announced_on"], name="decision_jur_announced"),
            models.Index(fields=["state", "effective_on"], name="decision_state_effective",
                         condition=~Q(status="")),
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
                condition=Q(status="") | Q(effective_on__isnull=False),
                name="decision_status_needs_effective_date",
                violation_error_message="A decision that sets a status needs an effective date.",
            ),
            models.CheckConstraint(condition=Q(status="") | Q(status__in=Status.values), name="decision_status_valid"),
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

    def clean(self) -> None:
        # The same rules as the check constraints, attached to the field an
        # editor has to fix (constraint errors would show at the form's top).
        from django.core.exceptions import ValidationError

        errors = {}
        if self.effective_on and self.announced_on and self.effective_on < self.announced_on:
            errors["effective_on"] = "The effective date cannot be before the announcement."
        if self.status and not self.effective_on:
            errors["effective_on"] = "A decision that sets a status needs the date the status takes effect."
        if self.target_on and self.announced_on and self.target_on < self.announced_on:
            errors["target_on"] = "The target date cannot be before the announcement."
        if self.regulator_id and self.jurisdiction_id and self.regulator.jurisdiction_id not in (
            self.jurisdiction_id, self.jurisdiction.parent_id
        ):
            errors["regulator"] = f"{self.regulator} is not a regulator of {self.jurisdiction}."
        if errors:
            raise ValidationError(errors)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

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

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("regulatory-decision", args=[self.pk])


class LinkStatus(models.TextChoices):
    OK = "ok", "Answers"
    REDIRECTED = "redirected", "Answers after redirects"
    FAILING = "failing", "Failing (not yet broken)"
    BROKEN = "broken", "Broken"


class SourceBase(models.Model):
    url = models.URLField(max_length=1000)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    published_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    published_precision = _precision_field()
    grade = models.CharField(max_length=10, choices=SourceGrade.choices)
    note = models.CharField(max_length=500, blank=True, help_text="E.g. 'repost of the sponsor's press release'.")
    # The weekly link check (watch/) writes the link_* fields; editors may add
    # an archived copy, shown beside a broken link.
    archived_url = models.URLField(max_length=1000, blank=True, help_text="An archived copy, e.g. on the Wayback Machine.")
    link_status = models.CharField(max_length=10, choices=LinkStatus.choices, blank=True, editable=False)
    link_status_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    link_final_url = models.URLField(max_length=1000, blank=True, editable=False)
    link_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    link_failures = models.PositiveSmallIntegerField(default=0, editable=False,
                                                     help_text="Checks in a row that failed (5xx, timeout).")

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title}"

    @property
    def published_display(self) -> str:
        return format_partial_date(self.published_on, self.published_precision)


class Source(SourceBase):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="sources")
    history = HistoricalRecords()

    class Meta(SourceBase.Meta):
        constraints = [
            models.UniqueConstraint(fields=["decision", "url"], name="source_unique_url_per_decision"),
            models.CheckConstraint(condition=Q(grade__in=SourceGrade.values), name="source_grade_valid"),
        ]


class ProgrammeSource(SourceBase):
    programme = models.ForeignKey(AccessProgramme, on_delete=models.CASCADE, related_name="sources")
    history = HistoricalRecords()

    class Meta(SourceBase.Meta):
        constraints = [
            models.UniqueConstraint(fields=["programme", "url"], name="programme_source_unique_url"),
            models.CheckConstraint(condition=Q(grade__in=SourceGrade.values), name="programme_source_grade_valid"),
        ]


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
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    late_reported = models.BooleanField(default=False,
                                        help_text="The decision was announced well before it was recorded here.")
    is_import = models.BooleanField(default=False,
                                    help_text="Written by a bulk load of the historical dataset: history, not news.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ChangeKind.values), name="change_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.decision_id}"
