"""Cited sources of decisions and programmes (and the abstract base shared with baselines)."""

from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from regulatory.models.decisions import Decision
from regulatory.models.programmes import AccessProgramme
from regulatory.models.vocabulary import RECORD_DATE_VALIDATORS, SourceGrade, _precision_field, format_partial_date

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
    # Set by the services before a save or delete: the user simple_history records.
    _history_user: Any
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
