"""Subscribing (double opt-in): the request, its confirmation email and the confirmation."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker.models import (
    Subscriber,
    Subscription,
    SubscriptionKind,
)
from tracker.selectors import change_latest_id
from tracker.services.limits import broker_outage
from tracker.services.validation import Scope

# Logged under the name of the module these functions came from.
logger = logging.getLogger("tracker.services")

# --- Subscribing -------------------------------------------------------------


def _subscriber_get_or_create(email: str) -> Subscriber:
    subscriber = Subscriber.objects.by_email(email).select_for_update().first()
    if subscriber is not None:
        return subscriber
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email)
    except IntegrityError:
        # Another request created it a moment ago (unique on LOWER(email)).
        return Subscriber.objects.by_email(email).select_for_update().get()


def _scope_set(subscription: Subscription, scope: Scope) -> None:
    subscription.jurisdictions.set(scope.jurisdictions)
    subscription.therapies.set(scope.therapies)
    subscription.kind_rows.all().delete()
    SubscriptionKind.objects.bulk_create(SubscriptionKind(subscription=subscription, kind=k) for k in scope.kinds)


def _scope_key(subscription: Subscription) -> tuple:
    return (
        subscription.cadence,
        frozenset(j.pk for j in subscription.jurisdictions.all()),
        frozenset(t.pk for t in subscription.therapies.all()),
        frozenset(subscription.kinds),
    )


@transaction.atomic
def subscription_request(*, email: str, scope: Scope) -> Subscription:
    """Record a pending subscription and queue its confirmation email.

    The caller answers the same whatever happens here (new, pending, already
    subscribed, suppressed), so nobody learns who subscribes. Everyone gets a
    confirmation link, the only mail ever sent to an unconfirmed address,
    except a suppressed (permanently bouncing) address, which gets nothing.
    Even then the same work is done here (the same rows written, the same
    task queued), so that the answer does not come back faster for a bounced
    address: the confirmation task drops the request without sending it
    (delivery.confirmation_send), and confirming it is refused."""
    subscriber = _subscriber_get_or_create(email)
    if subscriber.suppressed_at is not None:
        logger.info("Subscribe request for suppressed subscriber %s: no mail will be sent", subscriber.pk)
    subscription = Subscription.objects.create(subscriber=subscriber, cadence=scope.cadence)
    _scope_set(subscription, scope)
    transaction.on_commit(lambda: _confirmation_queue(subscription.pk))
    return subscription


def _confirmation_queue(subscription_id: int) -> None:
    """Queue the confirmation mail; when the broker cannot take it (down, or
    hung past its socket timeout) the committed row is left for the sweeper,
    which sends unsent confirmations (delivery.stalled_sweep), and the request
    answers as usual."""
    from tracker.tasks import confirmation_send, enqueue

    if broker_outage.active():
        logger.warning("Broker unavailable moments ago; confirmation %s left for the sweeper", subscription_id)
        return
    if not enqueue(confirmation_send, subscription_id):
        broker_outage.begin()


@transaction.atomic
def subscription_confirm(*, subscriber_id: int, subscription_id: int) -> Subscription | None:
    """Confirm a pending subscription (idempotent). It covers only changes
    recorded from now on. None when it no longer exists or the address is
    suppressed."""
    subscription = (
        Subscription.objects.select_for_update()
        .select_related("subscriber")
        .filter(pk=subscription_id, subscriber_id=subscriber_id)
        .first()
    )
    if subscription is None or subscription.subscriber.suppressed_at is not None:
        return None
    if subscription.confirmed_at is not None:
        return subscription
    subscriber = subscription.subscriber
    now = timezone.now()
    # Opening a link again (or a second identical request) must not create a twin.
    key = _scope_key(subscription)
    for other in subscriber.subscriptions.filter(confirmed_at__isnull=False).prefetch_related(
        "jurisdictions", "therapies", "kind_rows"
    ):
        if _scope_key(other) == key:
            subscription.delete()
            _subscriber_activate(subscriber, now)
            return other
    subscription.confirmed_at = now
    subscription.starts_after_change_id = change_latest_id()
    subscription.save(update_fields=["confirmed_at", "starts_after_change_id"])
    _subscriber_activate(subscriber, now)
    return subscription


def _subscription_create_confirmed(subscriber: Subscriber, scope: Scope, now) -> Subscription:
    """A subscription confirmed already (the mailbox was proven another way:
    a manage link, an organisation's import), from the next change on."""
    subscription = Subscription.objects.create(
        subscriber=subscriber,
        cadence=scope.cadence,
        confirmed_at=now,
        starts_after_change_id=change_latest_id(),
    )
    _scope_set(subscription, scope)
    _subscriber_activate(subscriber, now)
    return subscription


def _subscriber_activate(subscriber: Subscriber, now) -> None:
    fields = []
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now
        fields.append("confirmed_at")
    if subscriber.unsubscribed_at is not None:
        # They asked again and confirmed through their mailbox: mail resumes.
        subscriber.unsubscribed_at = None
        fields.append("unsubscribed_at")
    if fields:
        subscriber.save(update_fields=fields)
