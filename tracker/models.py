"""Subscribers, their subscriptions, and the rows that record every delivery.

Delivery state lives here, in PostgreSQL, never only in the broker: a
Notification or DigestDelivery row exists before any task is queued for it,
is claimed with a conditional UPDATE before it is sent, and records the result
afterwards. Redis can lose every task; the sweeper finds the rows again.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from regulatory.models import Change, DecisionKind, Jurisdiction, Therapy


class Cadence(models.TextChoices):
    INSTANT = "instant", "Instant"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


DIGEST_CADENCES = (Cadence.DAILY, Cadence.WEEKLY)


class SubscriberQuerySet(models.QuerySet):
    def active(self) -> SubscriberQuerySet:
        """Subscribers who may receive mail other than a confirmation."""
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True, suppressed_at__isnull=True)

    def by_email(self, email: str) -> SubscriberQuerySet:
        # Matches the functional unique index on LOWER(email).
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


class Subscriber(models.Model):
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the address was first confirmed (or imported)."
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the address bounced permanently; no mail is sent."
    )
    suppressed_reason = models.CharField(max_length=500, blank=True)
    # Watermarks: the id of the last Change covered by a sent digest of that
    # cadence. They only move forward: when a digest is sent, or when the
    # planner finds that nothing up to the latest change matches (an empty
    # digest, which is not sent).
    daily_watermark = models.BigIntegerField(default=0)
    weekly_watermark = models.BigIntegerField(default=0)
    # Signed into every manage link; unsubscribing increments it, which
    # revokes every manage link mailed before (tracker/tokens.py).
    token_version = models.PositiveIntegerField(default=0, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]
        # Not "view_...": editors get every tracker view_ permission (tracker/access.py).
        permissions = [("see_subscriber_address", "Can see subscribers' email addresses")]

    def __str__(self) -> str:
        # By number: the admin shows a row's str() in many places (links to it,
        # titles, breadcrumbs), and the address is only for some (tracker/access.py).
        return f"Subscriber #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.suppressed_at is None

    @staticmethod
    def watermark_field(cadence: str) -> str:
        if cadence not in DIGEST_CADENCES:
            raise ValueError(f"{cadence!r} is not a digest cadence")
        return f"{cadence}_watermark"


class Subscription(models.Model):
    """A scope (jurisdictions × therapies × kinds, each empty = all) and a cadence.

    A subscription is pending until its confirmation link is opened; it covers
    only the changes recorded after that (`starts_after_change_id`)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="subscriptions")
    cadence = models.CharField(max_length=8, choices=Cadence.choices)
    jurisdictions = models.ManyToManyField(
        Jurisdiction,
        blank=True,
        related_name="+",
        help_text="Empty means every jurisdiction. A union (eu) covers its members.",
    )
    therapies = models.ManyToManyField(Therapy, blank=True, related_name="+", help_text="Empty means every therapy.")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    starts_after_change_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The latest Change when the subscription was confirmed: history before it is never sent.",
    )
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["subscriber", "cadence"], name="subscription_confirmed", condition=Q(confirmed_at__isnull=False)
            ),
            models.Index(fields=["created_at"], name="subscription_pending", condition=Q(confirmed_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(cadence__in=Cadence.values), name="subscription_cadence_valid"),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(starts_after_change_id__isnull=False),
                name="subscription_confirmed_has_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} for {self.subscriber_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def kinds(self) -> list[str]:
        """Decision kinds in scope (empty = all); uses the prefetch cache when present."""
        return sorted(row.kind for row in self.kind_rows.all())


class SubscriptionKind(models.Model):
    """One decision kind in a subscription's scope. A table rather than an
    array so that the fan-out can match kinds in SQL on PostgreSQL and SQLite."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="kind_rows")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "kind"], name="subscription_kind_unique"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class ChangeFanOut(models.Model):
    """Tracker's own progress through one Change: how far the keyset walk over
    subscribers has gone, and whether it is finished. Kept here so that
    `regulatory` never learns that subscribers exist."""

    change = models.OneToOneField(Change, on_delete=models.CASCADE, primary_key=True, related_name="tracker_fan_out")
    started_at = models.DateTimeField(auto_now_add=True)
    # The progress stamp: when a step last moved the position (or the sweeper
    # queued the next one). An unfinished fan-out whose stamp stands still
    # while no worker works has lost its task.
    stepped_at = models.DateTimeField(null=True, blank=True)
    last_subscriber_id = models.BigIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "change fan-out"

    def __str__(self) -> str:
        return f"Fan-out of change #{self.change_id}"


class WorkerHeartbeat(models.Model):
    """One Celery worker process that sends mail, renewed every few seconds
    by the process itself (tracker/delivery/heartbeat.py). Times are the
    database's clock. A row not renewed for TRACKER_HEARTBEAT_TIMEOUT belongs
    to a dead (or stopped) process, whose claims the sweeper releases."""

    id = models.UUIDField(primary_key=True, editable=False)
    name = models.CharField(max_length=200, help_text="host:pid")
    started_at = models.DateTimeField(auto_now_add=True)
    beat_at = models.DateTimeField()
    busy = models.BooleanField(default=False, help_text="Running a delivery task at its last beat.")
    task_at = models.DateTimeField(null=True, blank=True, help_text="When it last started or finished one.")

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ClaimedRow(models.Model):
    """A row one worker claims (conditional UPDATE) before it sends an email,
    and that records the result: the tracker's deliveries and watch's daily
    candidates email. Abstract: each model keeps its own table and columns."""

    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # The worker process holding the claim (WorkerHeartbeat.id; no foreign
    # key: a dead worker's row may go first). Empty for a claim taken outside
    # a worker, which only TRACKER_CLAIM_TIMEOUT releases.
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class DeliveryRow(ClaimedRow):
    """What instant and digest deliveries share: claim, attempts, result."""

    cancelled_at = models.DateTimeField(
        null=True, blank=True, help_text="Not sent because the subscriber left or was suppressed first."
    )
    last_error = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def status(self) -> str:
        if self.sent_at:
            return DeliveryStatus.SENT
        if self.failed_at:
            return DeliveryStatus.FAILED
        if self.cancelled_at:
            return DeliveryStatus.CANCELLED
        return DeliveryStatus.PENDING


# The rows still to be sent: every claim, sweep and admin "pending" count
# filters on this, so the partial indexes below stay small.
UNSENT = Q(sent_at__isnull=True, failed_at__isnull=True, cancelled_at__isnull=True)


class Notification(DeliveryRow):
    """One instant email for one (subscriber, change). The unique constraint
    makes a second email for the same change impossible in the schema."""

    # No single-column indexes: the unique (subscriber, change) and the
    # (change, subscriber) indexes below lead with each of them already, and
    # every index costs each insert and each "sent" update.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    change = models.ForeignKey(Change, on_delete=models.PROTECT, related_name="tracker_notifications", db_index=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "change"], name="notification_unique_per_change"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="notification_unsent", condition=UNSENT),
            models.Index(fields=["change", "subscriber"], name="notification_change"),
        ]

    def __str__(self) -> str:
        return f"Change #{self.change_id} to {self.subscriber_id}"


class DigestDelivery(DeliveryRow):
    """One digest for one subscriber and cadence, keyed by the watermark it
    starts after. The watermark only moves when this row is sent, so a second
    run (beat, a redelivered task, or `send_digests` on the same day) finds
    the same key and cannot send the same changes again. A failed row does
    not hold the key: its changes go out in the next digest."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="digest_deliveries")
    cadence = models.CharField(max_length=8, choices=[(c.value, c.label) for c in DIGEST_CADENCES])
    after_change_id = models.BigIntegerField(help_text="The subscriber's watermark when the digest was planned.")
    upto_change_id = models.BigIntegerField(help_text="The last Change this digest covers.")
    period = models.CharField(max_length=10, help_text="The day (daily) or ISO week (weekly) it was planned in.")
    change_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "digest deliveries"
        constraints = [
            # Failed or cancelled rows do not block a later digest from the same
            # watermark: those changes were never mailed, so they go out next time.
            models.UniqueConstraint(
                fields=["subscriber", "cadence", "after_change_id"],
                name="digest_unique_per_watermark",
                condition=Q(failed_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.CheckConstraint(
                condition=Q(cadence__in=[c.value for c in DIGEST_CADENCES]),
                name="digest_cadence_valid",
            ),
            models.CheckConstraint(
                condition=Q(upto_change_id__gt=models.F("after_change_id")),
                name="digest_range_not_empty",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="digest_unsent", condition=UNSENT),
        ]

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} {self.period} to {self.subscriber_id}"


class ChangeDelivery(Change):
    """Regulatory's Change seen from the delivery side, for the admin overview
    (sent / pending / failed per change). A proxy: no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "delivery per change"
        verbose_name_plural = "deliveries per change"
