"""The sweeper: from the database alone, repair what the broker or a dead
worker lost, and say what to queue again (tasks.requeue queues it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from regulatory.models import Change
from tracker.delivery.batching import batches
from tracker.models import UNSENT, DigestDelivery, Notification, Subscriber, Subscription


@dataclass
class SweepPlan:
    """What the sweeper did and found; tasks.requeue() queues what it found."""

    change_ids: list[int] = field(default_factory=list)
    notification_batches: list[list[int]] = field(default_factory=list)
    digest_batches: list[list[int]] = field(default_factory=list)
    confirmation_ids: list[int] = field(default_factory=list)
    claims_released: int = 0
    given_up: int = 0
    expired: int = 0


def stalled_sweep(*, stale_after: int, claim_timeout: int, now: dt.datetime | None = None) -> SweepPlan:
    """Repair what the broker or a dead worker lost, from the database alone.

    - claims older than `claim_timeout` seconds are released (their worker
      died: only safe when no live worker could still hold them);
    - rows that used up TRACKER_MAX_ATTEMPTS are marked failed;
    - changes whose fan-out is unfinished, unsent unclaimed rows and unsent
      confirmation links older than `stale_after` seconds are returned to be
      queued again (claims make a second copy of a task harmless);
    - pending subscriptions whose link has expired are deleted.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=stale_after)
    claim_cutoff = now - dt.timedelta(seconds=claim_timeout)
    max_attempts = settings.TRACKER_MAX_ATTEMPTS
    plan = SweepPlan()
    for model in (Notification, DigestDelivery):
        plan.claims_released += model.objects.filter(UNSENT, claimed_at__lt=claim_cutoff).update(
            claimed_at=None, claim_token=None,
        )
        plan.given_up += model.objects.filter(UNSENT, claimed_at__isnull=True, attempts__gte=max_attempts).update(
            failed_at=now,
        )
    plan.claims_released += Subscription.objects.filter(
        confirmation_sent_at__isnull=True, confirmation_claimed_at__lt=claim_cutoff,
    ).update(confirmation_claimed_at=None)

    plan.change_ids = list(
        Change.objects.filter(is_import=False, recorded_at__lte=stale)
        .filter(Q(tracker_fan_out__isnull=True) | Q(tracker_fan_out__completed_at__isnull=True))
        .order_by("pk").values_list("pk", flat=True)
    )
    plan.notification_batches = batches(list(
        Notification.objects.filter(UNSENT, claimed_at__isnull=True, created_at__lte=stale)
        .order_by("change_id", "pk").values_list("pk", flat=True)
    ))
    plan.digest_batches = batches(list(
        DigestDelivery.objects.filter(UNSENT, claimed_at__isnull=True, created_at__lte=stale)
        .order_by("pk").values_list("pk", flat=True)
    ))

    link_expiry = now - dt.timedelta(days=settings.TRACKER_CONFIRM_MAX_AGE_DAYS)
    plan.confirmation_ids = list(
        Subscription.objects.filter(
            confirmed_at__isnull=True, confirmation_sent_at__isnull=True, confirmation_claimed_at__isnull=True,
            created_at__lte=stale, created_at__gt=link_expiry,
        ).order_by("pk").values_list("pk", flat=True)
    )
    _, deleted = Subscription.objects.filter(confirmed_at__isnull=True, created_at__lte=link_expiry).delete()
    plan.expired = deleted.get(Subscription._meta.label, 0)
    # Addresses never confirmed keep no record once their links have expired.
    Subscriber.objects.filter(
        confirmed_at__isnull=True, created_at__lte=link_expiry, subscriptions__isnull=True,
    ).delete()
    return plan
