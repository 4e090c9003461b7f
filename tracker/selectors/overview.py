"""Reads for the admin and the subscriber pages: delivery counts, scope choices and texts, a subscriber's subscriptions."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from regulatory.models import (
    DecisionKind,
    Jurisdiction,
    Therapy,
)
from tracker.models import (
    Cadence,
    ChangeDelivery,
    Subscriber,
    Subscription,
)

# --- Admin ---------------------------------------------------------------------


def change_delivery_overview() -> QuerySet[ChangeDelivery]:
    """Changes with their notification counts by status, in one query."""
    sent = Q(tracker_notifications__sent_at__isnull=False)
    failed = Q(tracker_notifications__failed_at__isnull=False)
    cancelled = Q(tracker_notifications__cancelled_at__isnull=False)
    pending = Q(tracker_notifications__isnull=False) & Q(
        tracker_notifications__sent_at__isnull=True,
        tracker_notifications__failed_at__isnull=True,
        tracker_notifications__cancelled_at__isnull=True,
    )
    return ChangeDelivery.objects.select_related("decision", "tracker_fan_out").annotate(
        sent_count=Count("tracker_notifications", filter=sent),
        pending_count=Count("tracker_notifications", filter=pending),
        failed_count=Count("tracker_notifications", filter=failed),
        cancelled_count=Count("tracker_notifications", filter=cancelled),
    )


def scope_choices() -> tuple[list[Jurisdiction], list[Therapy]]:
    """Jurisdictions and therapies a subscription can name, in display order."""
    return list(Jurisdiction.objects.all()), list(Therapy.objects.all())


def subscription_scope_text(subscription: Subscription) -> dict[str, str]:
    """Human-readable scope of a prefetched subscription (empty = all)."""
    kinds = dict(DecisionKind.choices)
    return {
        "jurisdictions": ", ".join(j.name for j in subscription.jurisdictions.all()) or "All jurisdictions",
        "therapies": ", ".join(t.name for t in subscription.therapies.all()) or "All therapies",
        "kinds": ", ".join(kinds.get(k, k) for k in subscription.kinds) or "All kinds of decision",
    }


def subscriber_subscriptions(subscriber: Subscriber) -> list[Subscription]:
    return list(
        subscriber.subscriptions.filter(confirmed_at__isnull=False)
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .order_by("id")
    )


def digest_period(cadence: str, when: dt.datetime) -> str:
    """The label of the day or ISO week a digest is planned in."""
    if cadence == Cadence.WEEKLY:
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return when.date().isoformat()


def subscription_for_confirm_link(*, subscriber_id: int, subscription_id: int) -> Subscription | None:
    """The subscription a confirm link names, as the page that link opens
    shows it (reads only); None when it no longer exists or its address is
    suppressed, the cases in which confirming it is refused."""
    subscription = (
        Subscription.objects.select_related("subscriber")
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .filter(pk=subscription_id, subscriber_id=subscriber_id)
        .first()
    )
    if subscription is None or subscription.subscriber.suppressed_at is not None:
        return None
    return subscription
