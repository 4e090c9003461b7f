"""Subscribers for tracker tests, created through the services they exercise."""

from __future__ import annotations

from collections.abc import Iterable

from regulatory.models import Jurisdiction, Therapy
from tracker import services
from tracker.models import Cadence, Subscriber, Subscription


def subscriber_with(
    email: str,
    *,
    cadence: str = Cadence.INSTANT,
    jurisdictions: Iterable[Jurisdiction] = (),
    therapies: Iterable[Therapy] = (),
    kinds: Iterable[str] = (),
) -> Subscriber:
    """A confirmed subscriber holding one subscription that starts now."""
    subscriber = Subscriber.objects.by_email(email).first() or Subscriber.objects.create(email=email)
    services.subscription_add(
        subscriber=subscriber,
        scope=services.Scope(
            cadence=cadence,
            jurisdictions=tuple(jurisdictions),
            therapies=tuple(therapies),
            kinds=tuple(kinds),
        ),
    )
    subscriber.refresh_from_db()
    return subscriber


def subscription_of(subscriber: Subscriber) -> Subscription:
    return subscriber.subscriptions.get()


def pending_subscription(email: str, *, cadence: str = Cadence.INSTANT) -> Subscription:
    """A subscription requested through the public form, not yet confirmed."""
    subscription = services.subscription_request(email=email, scope=services.Scope(cadence=cadence))
    assert subscription is not None
    return subscription
