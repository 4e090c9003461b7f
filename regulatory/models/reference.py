"""Reference data: jurisdictions (and their reviews), regulators and therapies."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from regulatory.models.vocabulary import RECORD_DATE_VALIDATORS

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
    covers_therapies: models.ManyToManyField[Therapy, Any] = models.ManyToManyField(
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
