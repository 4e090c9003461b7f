"""The record's vocabulary: date range, choices, grades and partial-date helpers."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

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
