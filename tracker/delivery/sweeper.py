"""The sweeper: from the database alone, repair what the broker or a dead
worker lost, and say what to queue again (tasks.requeue queues it).

Two cadences: stalled_heal every few seconds for the ordinary incidents (a
worker killed or stopped, Redis flushed), and stalled_sweep every few
minutes for the rest (old claims of processes without a heartbeat, rows that
used every attempt, confirmation links, expired requests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from regulatory.models import Change
from tracker.delivery import heartbeat
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


def stalled_heal(*, now: dt.datetime | None = None) -> SweepPlan:
    """What beat runs every few seconds (TRACKER_HEAL_INTERVAL): repair an
    ordinary incident within seconds, from the database alone.

    - the claims of worker processes whose heartbeat stopped (killed, or
      stopped and not yet back) are released, and queued again at once;
    - when no live worker has run a delivery task for TRACKER_LOST_AFTER
      seconds, work that nobody holds is work the broker lost (Redis
      flushed or restarted, a dead worker's prefetched tasks): unfinished
      fan-outs whose progress stamp has not moved, and rows never tried,
      that old, are queued again. Rows that were tried and released for a
      retry are left to their task's countdown (and to stalled_sweep).
    """
    return _sweep(now=now or timezone.now(), claim_cutoff=None, stale=None)


def stalled_sweep(*, stale_after: int, claim_timeout: int, now: dt.datetime | None = None) -> SweepPlan:
    """Repair what the broker or a dead worker lost, from the database alone:
    everything stalled_heal does, and

    - claims older than `claim_timeout` seconds are released (their worker
      died: only safe when no live worker could still hold them);
    - rows that used up TRACKER_MAX_ATTEMPTS are marked failed;
    - changes whose fan-out is unfinished and has not moved, unsent unclaimed
      rows and unsent confirmation links older than `stale_after` seconds are
      returned to be queued again (claims make a second copy of a task harmless);
    - pending subscriptions whose link has expired are deleted, and the
      heartbeats of workers gone for an hour.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=stale_after)
    plan = _sweep(now=now, claim_cutoff=now - dt.timedelta(seconds=claim_timeout), stale=stale)
    for model in (Notification, DigestDelivery):
        plan.given_up += model.objects.filter(
            UNSENT,
            claimed_at__isnull=True,
            attempts__gte=settings.TRACKER_MAX_ATTEMPTS,
        ).update(failed_at=now)
    plan.claims_released += Subscription.objects.filter(
        confirmation_sent_at__isnull=True,
        confirmation_claimed_at__lt=now - dt.timedelta(seconds=claim_timeout),
    ).update(confirmation_claimed_at=None)

    link_expiry = now - dt.timedelta(days=settings.TRACKER_CONFIRM_MAX_AGE_DAYS)
    plan.confirmation_ids = list(
        Subscription.objects.filter(
            confirmed_at__isnull=True,
            confirmation_sent_at__isnull=True,
            confirmation_claimed_at__isnull=True,
            created_at__lte=stale,
            created_at__gt=link_expiry,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _, deleted = Subscription.objects.filter(confirmed_at__isnull=True, created_at__lte=link_expiry).delete()
    plan.expired = deleted.get(Subscription._meta.label, 0)
    # Addresses never confirmed keep no record once their links have expired.
    Subscriber.objects.filter(
        confirmed_at__isnull=True,
        created_at__lte=link_expiry,
        subscriptions__isnull=True,
    ).delete()
    heartbeat.heartbeats_forget(older_than=dt.timedelta(hours=1))
    return plan


def _sweep(*, now: dt.datetime, claim_cutoff: dt.datetime | None, stale: dt.datetime | None) -> SweepPlan:
    """Release dead claims, and find the fan-outs and rows to queue again:
    those released now; when no worker is working, what nobody holds and was
    never tried for TRACKER_LOST_AFTER seconds; and with `stale`, whatever
    nobody holds since then."""
    plan = SweepPlan()
    lost = now - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER)
    # Nobody works: no live worker ran a task lately, and no row was claimed
    # lately (by a process without a heartbeat, say, on another pool).
    idle = not heartbeat.workers_busy(within=settings.TRACKER_LOST_AFTER) and not any(
        model.objects.filter(UNSENT, claimed_at__gte=lost).exists() for model in (Notification, DigestDelivery)
    )
    released = {
        model: _claims_release(model, claim_cutoff=claim_cutoff, now=now) for model in (Notification, DigestDelivery)
    }
    plan.claims_released = sum(count for count, _ in released.values())

    waiting = Q(pk__in=[])
    if idle:
        waiting |= Q(attempts=0, created_at__lte=lost)
    if stale is not None:
        waiting |= Q(created_at__lte=stale)
    for model, target, order in (
        (Notification, "notification_batches", ("change_id", "pk")),
        (DigestDelivery, "digest_batches", ("pk",)),
    ):
        ids = set(released[model][1])
        if idle or stale is not None:
            ids.update(
                model.objects.filter(UNSENT, claimed_at__isnull=True).filter(waiting).values_list("pk", flat=True)
            )
        ordered: Iterable[int] = (
            model.objects.filter(pk__in=ids).order_by(*order).values_list("pk", flat=True) if ids else []
        )
        setattr(plan, target, batches(list(ordered)))

    # A fan-out whose progress stamp (or, before its first step, its change)
    # has not moved since the cutoff.
    cutoffs = ([lost] if idle else []) + ([stale] if stale is not None else [])
    if cutoffs:
        cutoff = max(cutoffs)
        plan.change_ids = list(
            Change.objects.filter(is_import=False, recorded_at__lte=cutoff)
            .filter(
                Q(tracker_fan_out__isnull=True)
                | Q(
                    tracker_fan_out__completed_at__isnull=True,
                    tracker_fan_out__started_at__lte=cutoff,
                )
                & (Q(tracker_fan_out__stepped_at__isnull=True) | Q(tracker_fan_out__stepped_at__lte=cutoff))
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return plan


def _claims_release(
    model: type[Notification | DigestDelivery], *, claim_cutoff: dt.datetime | None, now: dt.datetime
) -> tuple[int, list[int]]:
    """Release the claims of worker processes whose heartbeat stopped, and
    (with `claim_cutoff`) claims older than that; return how many were
    released, and their ids."""
    # A claim younger than a few seconds is left alone: this statement's view
    # of the live workers may predate a worker that has only just started.
    young = now - dt.timedelta(seconds=settings.TRACKER_HEARTBEAT_TIMEOUT / 3)
    dead = Q(claimed_by__isnull=False, claimed_at__lt=young) & ~Q(claimed_by__in=heartbeat.live_worker_ids())
    if claim_cutoff is not None:
        dead |= Q(claimed_at__lt=claim_cutoff)
    rows = model.objects.filter(UNSENT, claimed_at__isnull=False).filter(dead)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0, []
    count = rows.filter(pk__in=ids).update(claimed_at=None, claim_token=None, claimed_by=None)
    return count, ids
