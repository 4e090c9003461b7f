"""The regulatory record: who decides, about what, when, on what evidence.

`regulatory/` knows nothing of `tracker/`: it writes Change rows (its public
history and the outbox) and others read them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

# The dates the record accepts: a wider range is a typing mistake (9999-12-31),
# and dates near the ends of Python's calendar break the date arithmetic of
# the feeds and the pages. The admin's forms and the API check it.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
_DATE_RANGE_MESSAGE = "Enter a date from 1900-01-01 to 2200-12-31."
RECORD_DATE_VALIDATORS = [
    MinValueValidator(EARLIEST_DATE, message=_DATE_RANGE_MESSAGE),
    MaxValueValidator(LATEST_DATE, message=_DATE_RANGE_MESSAGE),
]


class Precision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Control(models.TextChoices):
    """Control of a substance in a jurisdiction: the first dimension of status."""

    PROHIBITED = "prohibited", "Prohibited"
    MEDICAL_USE_PERMITTED = "medical_use_permitted", "Medical use permitted"
    NOT_CONTROLLED = "not_controlled", "Not controlled"


CONTROL_DESCRIPTIONS: dict[str, str] = {
    Control.PROHIBITED: "Controlled with no accepted medical use (Schedule I, Poisons Standard S9, Class A / "
    "Schedule 1, BtMG Anlage I): research only under special licence.",
    Control.MEDICAL_USE_PERMITTED: "Controlled, but medical use is lawful within the instrument's terms "
    "(e.g. Australia's S8 for the named indications, the Czech exception).",
    Control.NOT_CONTROLLED: "Not a controlled substance in this jurisdiction.",
}


# The single status of earlier versions (it mixed the three dimensions). Only
# old Change diffs still hold these values: kept to label them.
LEGACY_STATUS_LABELS: dict[str, str] = {
    "prohibited": "Prohibited",
    "investigational": "Investigational",
    "under_review": "Under review",
    "not_approved": "Not approved",
    "restricted_access": "Restricted access",
    "approved": "Approved",
}


class ApprovalStage(models.TextChoices):
    """Approval stage of a therapy: the second dimension of status."""

    NONE = "none", "No application"
    INVESTIGATIONAL = "investigational", "Investigational"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    NOT_APPROVED = "not_approved", "Not approved"
    WITHDRAWN = "withdrawn", "Withdrawn"


APPROVAL_STAGE_DESCRIPTIONS: dict[str, str] = {
    ApprovalStage.NONE: "No development programme or application is recorded with this regulator.",
    ApprovalStage.INVESTIGATIONAL: "Studied in clinical trials (designations, protocol agreements); not approved.",
    ApprovalStage.UNDER_REVIEW: "A marketing application is being assessed by the regulator.",
    ApprovalStage.APPROVED: "Approved for marketing for this indication.",
    ApprovalStage.NOT_APPROVED: "The regulator has refused or declined to approve the application as filed.",
    ApprovalStage.WITHDRAWN: "The application or the approval was withdrawn.",
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
    LITERATURE = "literature", "Peer-reviewed literature"
    SECONDARY = "secondary", "Secondary report"


# Best first: a cell's provenance is the best grade among its sources.
GRADE_RANK: dict[str, int] = {
    SourceGrade.OFFICIAL: 0,
    SourceGrade.SPONSOR: 1,
    SourceGrade.LITERATURE: 2,
    SourceGrade.SECONDARY: 3,
}


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


def _researched_fields() -> tuple[models.DateField, models.CharField]:
    return (
        models.DateField(
            null=True,
            blank=True,
            validators=RECORD_DATE_VALIDATORS,
            help_text="When this fact was last researched against its sources (shipped dataset).",
        ),
        _precision_field(),
    )


# A jurisdiction whose record was not reviewed for longer than this is marked
# stale in every cell: a missing event may just not have been looked for.
STALE_AFTER_DAYS = 90


class Jurisdiction(models.Model):
    code = models.SlugField(max_length=16, unique=True, help_text="Lowercase code, e.g. us, au, eu, de.")
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The union a member state belongs to (e.g. de under eu).",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the matrix.")
    # Coverage: what was researched here. A cell outside it with no fact reads
    # "not researched"; inside it, "no decision recorded".
    covers_therapies = models.ManyToManyField(
        "Therapy", blank=True, related_name="covered_in", help_text="Therapies whose record here was researched."
    )
    covers_substances = models.JSONField(
        default=list, blank=True, help_text='Substances (every therapy with them) researched here, e.g. ["MDMA"].'
    )
    reviewed_to = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The date up to which an editor reviewed this record (latest review).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code=models.functions.Lower("code")), name="jurisdiction_code_lowercase"
            ),
            # A jurisdiction that is its own parent is nobody's member and no
            # top-level jurisdiction either: it falls off the matrix.
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("id")),
                name="jurisdiction_not_own_parent",
                violation_error_message="A jurisdiction cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A cycle (eu under de under eu) drops every jurisdiction in it from
        # the matrix, like a self-parent; the schema can only refuse the latter.
        from django.core.exceptions import ValidationError

        path, ancestor = [self.code], self.parent
        while ancestor is not None and len(path) <= 64:
            path.append(ancestor.code)
            if ancestor is self or (self.pk is not None and ancestor.pk == self.pk):
                raise ValidationError(
                    {
                        "parent": "A jurisdiction cannot be its own parent, directly or through "
                        f"its members ({' → '.join(path)})."
                    }
                )
            ancestor = ancestor.parent

    def covers(self, therapy: Therapy, covered_therapy_ids: set[int] | None = None) -> bool:
        """Whether `therapy` was researched here (pass the prefetched ids to avoid a query)."""
        if covered_therapy_ids is None:
            covered_therapy_ids = {t.pk for t in self.covers_therapies.all()}
        substances = {s.casefold() for s in self.covers_substances or []}
        return therapy.pk in covered_therapy_ids or therapy.substance.casefold() in substances


class JurisdictionReview(models.Model):
    """One "reviewed: nothing new" (or a dataset load's review date): who
    checked a jurisdiction's record, when, and up to which date. The editor
    is kept for the audit trail and never shown in public."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="reviews")
    reviewed_to = models.DateField(
        validators=RECORD_DATE_VALIDATORS, help_text="The record was checked for events up to this date."
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_dataset = models.BooleanField(default=False, help_text="Recorded by a load of the shipped dataset.")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.jurisdiction} reviewed to {self.reviewed_to}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError
        from django.utils import timezone

        if self.reviewed_to and self.reviewed_to > timezone.localdate():
            raise ValidationError({"reviewed_to": "A review date cannot be in the future."})


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

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("regulatory-decision", args=[self.pk])


# Cited sources are links readers follow: a web address with a host, never
# javascript:, data:, ftp: or a host-less http:///x.
http_url = URLValidator(schemes=["http", "https"], message="Enter a web address starting with http:// or https://.")


class LinkStatus(models.TextChoices):
    OK = "ok", "Answers"
    REDIRECTED = "redirected", "Answers after redirects"
    FAILING = "failing", "Failing (not yet broken)"
    BROKEN = "broken", "Broken"


class SourceBase(models.Model):
    url = models.URLField(max_length=1000, validators=[http_url])
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    published_on = models.DateField(null=True, blank=True, validators=RECORD_DATE_VALIDATORS)
    published_precision = _precision_field()
    grade = models.CharField(max_length=10, choices=SourceGrade.choices)
    is_copy = models.BooleanField(
        default=False, help_text="An official document held on another host (a Federal Register OCR, a mirror)."
    )
    original_url = models.URLField(max_length=1000, blank=True, help_text="The original's address, when known.")
    note = models.CharField(max_length=500, blank=True, help_text="E.g. 'repost of the sponsor's press release'.")
    # The weekly link check (watch/) writes the link_* fields; editors may add
    # an archived copy, shown beside a broken link.
    archived_url = models.URLField(
        max_length=1000, blank=True, validators=[http_url], help_text="An archived copy, e.g. on the Wayback Machine."
    )
    link_status = models.CharField(max_length=10, choices=LinkStatus.choices, blank=True, editable=False)
    link_status_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    link_final_url = models.URLField(max_length=1000, blank=True, editable=False)
    link_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    link_failures = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Checks in a row that failed (5xx, timeout)."
    )

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
