"""Watched official sources, the candidates they propose, and substance aliases.

`watch/` depends on `regulatory/`, never the reverse: it reads the record (to
match therapies and recognise cited URLs), writes drafts through
regulatory.services, and writes the link-check fields of the record's sources.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from regulatory.models import Decision, DecisionKind, Jurisdiction, ProgrammeSource, Regulator, Source, Therapy
from tracker.models import ClaimedRow

# Only the web: an ftp:// or file:// URL in the admin is refused on the form.
http_url = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")


class Adapter(models.TextChoices):
    FEDERAL_REGISTER = "federal_register", "Federal Register API (JSON document search)"
    FEED = "feed", "RSS 2.0 / Atom feed"
    CLINICALTRIALS = "clinicaltrials", "ClinicalTrials.gov API v2 (studies)"
    PAGE = "page", "Page changed (main text diffed)"


class WatchedSource(models.Model):
    name = models.CharField(max_length=100, unique=True)
    adapter = models.CharField(max_length=20, choices=Adapter.choices)
    url = models.CharField(
        max_length=1000,
        validators=[http_url],
        help_text="The exact URL polled, query included (see README: Watched sources).",
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Suggested for its candidates.",
    )
    regulator = models.ForeignKey(Regulator, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    default_kind = models.CharField(
        max_length=20,
        choices=DecisionKind.choices,
        blank=True,
        help_text="Suggested kind when an item's words suggest none.",
    )
    poll_minutes = models.PositiveIntegerField(default=360, help_text="Minutes between two polls.")
    enabled = models.BooleanField(default=True)

    # Poll state, written by watch.services only.
    next_poll_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Claimed (moved forward) before a poll starts."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    etag = models.CharField(max_length=500, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # What the adapter keeps between polls: a page's last main text, the
    # ClinicalTrials.gov studies' last phase / status / results.
    state = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(adapter__in=Adapter.values), name="watched_source_adapter_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def is_flagged(self, now: dt.datetime | None = None) -> bool:
        """Failing without a success for WATCH_FLAG_AFTER (a day by default)."""
        if self.failing_since is None:
            return False
        now = now or timezone.now()
        return now - self.failing_since >= dt.timedelta(seconds=settings.WATCH_FLAG_AFTER)


class SubstanceAlias(models.Model):
    """Another name an item may use for a therapy's substance. The substance
    itself (Therapy.substance) always matches; these add the rest."""

    substance = models.CharField(max_length=100, help_text="As in Therapy.substance, e.g. MDMA, Psilocybin.")
    alias = models.CharField(max_length=200)

    class Meta:
        ordering = ["substance", "alias"]
        verbose_name_plural = "substance aliases"
        constraints = [
            models.UniqueConstraint(fields=["substance", "alias"], name="substance_alias_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} ({self.substance})"


class CandidateState(models.TextChoices):
    NEW = "new", "New"
    DRAFTED = "drafted", "Draft created"
    DISMISSED = "dismissed", "Dismissed"


class Candidate(models.Model):
    """An item from a watched source that looks like a regulatory event."""

    source = models.ForeignKey(WatchedSource, on_delete=models.PROTECT, related_name="candidates")
    url = models.CharField(max_length=1000)
    url_key = models.CharField(
        max_length=1000,
        db_index=True,
        editable=False,
        help_text="The URL as compared for duplicates (see watch.selectors.url_key).",
    )
    document_number = models.CharField(
        max_length=200,
        blank=True,
        help_text="Federal Register document number, NCT id with the change seen, or page version.",
    )
    # One candidate per item across all sources: the document number where
    # there is one, else the URL (see watch.services.candidate_key).
    key = models.CharField(max_length=1000, unique=True, editable=False)
    title = models.CharField(max_length=500)
    published_on = models.DateField(null=True, blank=True)
    excerpt = models.TextField(blank=True)
    therapies = models.ManyToManyField(Therapy, related_name="+")
    suggested_kind = models.CharField(max_length=20, choices=DecisionKind.choices, default=DecisionKind.OTHER)
    jurisdiction = models.ForeignKey(Jurisdiction, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    found_at = models.DateTimeField(default=timezone.now, db_index=True)

    state = models.CharField(max_length=10, choices=CandidateState.choices, default=CandidateState.NEW, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    dismiss_reason = models.TextField(blank=True, editable=False)
    draft = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-found_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-found_at"], name="candidate_queue"),
            models.Index(fields=["document_number"], name="candidate_document_number"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CandidateState.values), name="candidate_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=CandidateState.DISMISSED) | ~Q(dismiss_reason=""),
                name="candidate_dismissed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# The record's cited links, as the link check sees them (admin lists only).
class CitedLink(Source):
    class Meta:
        proxy = True
        verbose_name = "link of a decision's source"


class CitedProgrammeLink(ProgrammeSource):
    class Meta:
        proxy = True
        verbose_name = "link of a programme's source"


class CandidateMailSubscription(models.Model):
    """An editor who asked for the daily email of new candidates. The row is
    the opt-in (opting out deletes it); `last_candidate_id` is the watermark:
    the highest candidate id already mailed (or passed over on an empty day),
    moved forward only in the transaction that records a send."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="candidate_mail_subscription"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_candidate_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Daily candidates email for {self.user}"


# Not sent, not failed, not skipped: what the sender and the repair look for.
CANDIDATE_MAIL_UNSENT = Q(sent_at__isnull=True, failed_at__isnull=True, skipped_at__isnull=True)


class CandidateMail(ClaimedRow):
    """One daily email of new candidates to one editor: the candidates with
    ids in (after_candidate_id, upto_candidate_id] still new when it is sent.
    At most one per editor and day, in the schema, so that neither a second
    plan nor a second send can mail an editor twice. Claimed, and its result
    recorded, like the tracker's deliveries (tracker.models.ClaimedRow)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(help_text="The day this email is for (UTC).")
    after_candidate_id = models.BigIntegerField()
    upto_candidate_id = models.BigIntegerField()
    candidate_count = models.PositiveIntegerField(default=0)
    # Nothing new that day (or all of it reviewed before the send): no email,
    # and the watermark moved on.
    skipped_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-period", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "period"], name="candidate_mail_once_per_day"),
            models.CheckConstraint(
                condition=Q(upto_candidate_id__gte=models.F("after_candidate_id")), name="candidate_mail_range_ordered"
            ),
        ]
        indexes = [
            # The repair's search: unsent rows by age.
            models.Index(fields=["created_at"], condition=CANDIDATE_MAIL_UNSENT, name="candidate_mail_unsent"),
        ]

    def __str__(self) -> str:
        return f"Candidates email to {self.user} for {self.period}"
