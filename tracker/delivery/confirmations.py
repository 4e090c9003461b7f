"""Confirmation mail: a pending subscription's link, sent once."""

from __future__ import annotations

import logging

from django.utils import timezone

from tracker import emails
from tracker.delivery.claims import subscriber_suppress
from tracker.delivery.connection import send_over_one_connection
from tracker.delivery.failures import CONNECTION_PERMANENT, RECIPIENT_PERMANENT, SendFailure
from tracker.delivery.marks import Recorder
from tracker.models import Subscription

logger = logging.getLogger(__name__)


def confirmation_send(*, subscription_id: int) -> bool:
    """Send a pending subscription's confirmation link once. True when a
    transient failure released it for a retry."""
    claimed = Subscription.objects.filter(
        pk=subscription_id,
        confirmed_at__isnull=True,
        confirmation_sent_at__isnull=True,
        confirmation_claimed_at__isnull=True,
    ).update(confirmation_claimed_at=timezone.now())
    if not claimed:
        return False
    subscription = Subscription.objects.select_related("subscriber").get(pk=subscription_id)
    if subscription.subscriber.suppressed_at is not None:
        subscription.delete()
        return False

    def sent(item: Subscription, message_id: str) -> None:
        Subscription.objects.filter(pk=item.pk).update(confirmation_sent_at=timezone.now())

    def failed(item: Subscription, failure: SendFailure) -> bool:
        if failure.transient:
            Subscription.objects.filter(pk=item.pk).update(confirmation_claimed_at=None)
            return True
        if failure.kind == CONNECTION_PERMANENT:
            # Our side is at fault (SMTP credentials refused, sender rejected):
            # the request is fine. Keep it unclaimed for the sweeper, which
            # queues it again every sweep until the mail service is fixed or
            # the link's lifetime ends; the task does not retry it at once.
            logger.warning("Confirmation for subscription %s not sent, left for the sweeper: %s", item.pk, failure.text)
            Subscription.objects.filter(pk=item.pk).update(confirmation_claimed_at=None)
            return False
        if failure.kind == RECIPIENT_PERMANENT:
            subscriber_suppress(subscriber_id=item.subscriber_id, reason=failure.text)
        # The address or this message was refused for good (5xx on RCPT or
        # DATA): nothing more can be done for this request; the person can ask again.
        logger.warning("Confirmation for subscription %s not sent: %s", item.pk, failure.text)
        item.delete()
        return False

    def build(item: Subscription) -> emails.Outgoing:
        message = emails.confirmation_message(item)
        recipient = emails.Recipient(
            email=item.subscriber.email,
            message_id=message.extra_headers["Message-ID"],
            manage_url="",
            unsubscribe_url="",
        )
        return emails.Outgoing(recipient, None, lambda: message)

    retry = send_over_one_connection([subscription], build=build, recorder=Recorder(sent), on_failure=failed)
    return bool(retry)
