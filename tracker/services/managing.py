"""Managing subscriptions (the signed manage link proves the mailbox): add, update, switch cadence, remove, unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from regulatory.models import Change
from tracker import selectors
from tracker.delivery import notifications_write
from tracker.models import (
    UNSENT,
    Cadence,
    DigestDelivery,
    Notification,
    Subscriber,
    Subscription,
)
from tracker.selectors import change_latest_id
from tracker.services.subscribing import _scope_set, _subscription_create_confirmed
from tracker.services.validation import Scope

# --- Managing (the signed manage link proves the mailbox) --------------------


@transaction.atomic
def subscription_add(*, subscriber: Subscriber, scope: Scope) -> Subscription:
    """Add a confirmed subscription from the manage page; it starts now.

    Refused for an address that unsubscribed: an old manage link (forwarded,
    leaked) must not restart mail to someone who opted out. Their manage
    links are revoked on unsubscribe anyway; coming back takes the subscribe
    page and a fresh confirmation."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.suppressed_at is not None:
        raise ValidationError("Mail to this address bounced permanently, so nothing can be sent to it.")
    if subscriber.unsubscribed_at is not None:
        raise ValidationError(
            "This address unsubscribed. To receive mail again, subscribe on the subscribe "
            "page: a confirmation link will be sent to it."
        )
    return _subscription_create_confirmed(subscriber, scope, timezone.now())


@transaction.atomic
def subscription_update(*, subscription: Subscription, scope: Scope) -> Subscription:
    """Change a subscription's cadence or scope.

    A change of cadence neither loses nor repeats what the old cadence owed
    (see _cadence_switch). The subscriber row is locked first: digest sends
    and the digest planner move its watermarks under the same lock."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscription.subscriber_id)
    subscription = (
        Subscription.objects.select_for_update()
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .get(pk=subscription.pk)
    )
    if subscription.cadence != scope.cadence:
        _cadence_switch(subscriber, subscription, scope.cadence)
    _scope_set(subscription, scope)
    return subscription


def _cadence_switch(subscriber: Subscriber, subscription: Subscription, cadence: str) -> None:
    """Move a subscription to `cadence`; whatever the old cadence had not
    mailed yet (under the old scope) is mailed once, by the new one or at once.

    - digest -> instant: the old scope's matches after the old digest's
      watermark are written as Notification rows now and queued after commit;
      the instant mail starts after the latest change.
    - instant -> digest: the digest starts after the latest change, so nothing
      instant mail covered is sent again; changes whose fan-out has not
      reached this subscriber yet (it would no longer find an instant
      subscription) get their Notification rows now.
    - digest -> other digest: the new digest starts after the old one's
      watermark. If the new cadence's own watermark is already past that
      point (another subscription of that cadence was mailed meanwhile), the
      changes in between that only this subscription matched are mailed now.

    Notification rows are unique per (subscriber, change), so a change
    another instant subscription (or the fan-out) covers is mailed once."""
    old_cadence = subscription.cadence
    old_scope = selectors.subscription_scope(subscription)
    latest = change_latest_id()
    to_mail: list[int] = []
    if old_cadence == Cadence.INSTANT:
        starts_after = latest
        to_mail = selectors.change_ids_matching(
            changes=selectors.changes_not_fanned_out_to(
                subscriber_id=subscriber.pk, after=old_scope.starts_after_change_id, upto=latest
            ),
            scope=old_scope,
        )
    else:
        mailed_upto = max(
            old_scope.starts_after_change_id, getattr(subscriber, Subscriber.watermark_field(old_cadence))
        )
        if cadence == Cadence.INSTANT:
            starts_after = latest
            to_mail = selectors.change_ids_matching(
                changes=Change.objects.filter(pk__gt=mailed_upto, pk__lte=latest),
                scope=old_scope,
            )
        else:
            starts_after = mailed_upto
            new_watermark = getattr(subscriber, Subscriber.watermark_field(cadence))
            if new_watermark > mailed_upto:
                others = (
                    subscriber.subscriptions.filter(cadence=cadence, confirmed_at__isnull=False)
                    .exclude(pk=subscription.pk)
                    .prefetch_related("jurisdictions", "therapies", "kind_rows")
                )
                to_mail = selectors.change_ids_matching(
                    changes=Change.objects.filter(pk__gt=mailed_upto, pk__lte=new_watermark),
                    scope=old_scope,
                    covered_by=[selectors.subscription_scope(other) for other in others],
                )
    subscription.cadence = cadence
    subscription.starts_after_change_id = starts_after
    subscription.save(update_fields=["cadence", "starts_after_change_id"])
    if to_mail and subscriber.is_active:
        notification_ids = notifications_write(subscriber_id=subscriber.pk, change_ids=to_mail)
        from tracker.tasks import enqueue, notification_send_batch

        size = settings.TRACKER_SEND_BATCH
        batches = [notification_ids[i : i + size] for i in range(0, len(notification_ids), size)]
        transaction.on_commit(lambda: [enqueue(notification_send_batch, batch) for batch in batches])


def subscription_remove(*, subscription: Subscription) -> None:
    subscription.delete()


@transaction.atomic
def subscriber_unsubscribe(*, subscriber: Subscriber) -> None:
    """Stop all mail: remove every subscription and cancel what is not yet
    being sent. Idempotent. The row stays, so an import cannot re-add them.
    Revokes every manage link mailed so far (token_version); the unsubscribe
    link itself keeps working."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    now = timezone.now()
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
        subscriber.token_version += 1
        subscriber.save(update_fields=["unsubscribed_at", "token_version"])
    subscriber.subscriptions.all().delete()
    for model in (Notification, DigestDelivery):
        model.objects.filter(UNSENT, subscriber=subscriber, claimed_at__isnull=True).update(
            cancelled_at=now, last_error="The subscriber unsubscribed."
        )
