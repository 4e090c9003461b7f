"""Sending one batch of claimed rows over one SMTP connection."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db.models import Model
from django.utils import timezone

from tracker import emails
from tracker import smtp as tracker_smtp
from tracker.delivery import heartbeat
from tracker.delivery.failures import CONNECTION_TRANSIENT, SEND_ERRORS, SendFailure, smtp_failure
from tracker.delivery.marks import Recorder

logger = logging.getLogger(__name__)

# The rows a batch sends (notifications, digests, confirmations): only their pk is read here.
T = TypeVar("T", bound=Model)

# A send fails on these, and on ValueError for an address or header Django refuses to encode.
_SEND_ONE_ERRORS: tuple[type[BaseException], ...] = (*SEND_ERRORS, ValueError)
_CLOSE_ERRORS: tuple[type[BaseException], ...] = (*SEND_ERRORS, OSError)


def _send_one(connection: Any, outgoing: emails.Outgoing, sender: str) -> None:
    """Hand one email to the open connection: its bytes straight to smtplib
    (what Django's SMTP backend would send), or the full message to any other
    backend (tests, console)."""
    # Exactly Django's SMTP backend: a subclass (DKIM signing, say) may change
    # what is sent, so it gets the full message through its own send_messages.
    smtp = connection.connection if type(connection) is SmtpBackend else None
    if smtp is not None and outgoing.raw is not None:
        tracker_smtp.sendmail(smtp, sender, outgoing.envelope_to, outgoing.raw, pipelining=settings.EMAIL_PIPELINING)
    else:
        connection.send_messages([outgoing.message()])


def claim_renew_interval() -> dt.timedelta:
    """How often a running batch re-asserts its claims: a quarter of the
    claim timeout, so a live batch's claims never come near it."""
    return dt.timedelta(seconds=settings.TRACKER_CLAIM_TIMEOUT / 4)


def send_over_one_connection(
    items: Sequence[T],
    *,
    build: Callable[[T], emails.Outgoing | None],
    recorder: Recorder,
    on_failure: Callable[[T, SendFailure], bool],
    renew: Callable[[Sequence[T]], set[int]] | None = None,
) -> list[T]:
    """Send each item's message on one SMTP connection, recording each result
    as soon as it is known (`recorder.sent`, which needs no waiting for: the
    recorder keeps its writes apart from everything else). `on_failure`
    returns True when it released the item for another try. Returns the items
    to retry (transient failures).

    `renew(rest)` re-asserts the claims on the items not sent yet and returns
    the ids of those still held; it is called before a message whenever
    claim_renew_interval() has passed since the claim or the last renewal,
    or this worker's heartbeat may have lapsed meanwhile (heartbeat.py). A
    batch that stalled past the claim timeout, or whose worker was declared
    dead, finds the rows the sweeper released to another worker missing from
    that set, and skips them.

    When the task's soft time limit strikes, the items not sent yet are
    released (the one on the wire too: it may arrive twice) before the
    exception goes on."""
    retry: list[T] = []
    if not items:
        return retry
    renewed_at = timezone.now()  # the claim was just made: connecting counts against it
    connection = get_connection()
    try:
        connection.open()
    except SEND_ERRORS as exc:
        failure = smtp_failure(exc)
        logger.warning("SMTP connection failed: %s", failure.text)
        released = [item for item in items if on_failure(item, failure)]
        return released if failure.transient else []
    released_meanwhile: set[int] = set()
    sender = emails.from_address()
    unfinished = 0  # items before this one are sent, failed or skipped
    try:
        for index, item in enumerate(items):
            unfinished = index
            if item.pk in released_meanwhile:
                continue
            outgoing = build(item)
            if outgoing is None:
                continue
            # Right before the send: a worker stopped for a while (its
            # heartbeat with it) may have lost its claims to another worker.
            if renew is not None and (
                timezone.now() - renewed_at >= claim_renew_interval() or heartbeat.claims_may_have_lapsed()
            ):
                rest = [later for later in items[index:] if later.pk not in released_meanwhile]
                lost = {later.pk for later in rest} - renew(rest)
                if lost:
                    logger.info("Skipping %d row(s): their claims were released while the batch was running", len(lost))
                released_meanwhile |= lost
                renewed_at = timezone.now()
                if item.pk in released_meanwhile:
                    continue
            try:
                _send_one(connection, outgoing, sender)
            except _SEND_ONE_ERRORS as exc:
                failure = smtp_failure(exc)
                logger.info("Sending %s failed: %s", outgoing.message_id, failure.text)
                if failure.stops_batch:
                    # on_failure only touches rows this worker still holds.
                    released = [rest for rest in items[index:] if on_failure(rest, failure)]
                    if failure.transient:
                        retry.extend(released)
                    break
                if on_failure(item, failure) and failure.transient:
                    retry.append(item)
                continue
            recorder.sent(item, outgoing.message_id)
            unfinished = index + 1
    except SoftTimeLimitExceeded:
        failure = SendFailure(CONNECTION_TRANSIENT, "The task's time limit was reached before this was sent.")
        released = [rest for rest in items[unfinished:] if on_failure(rest, failure)]
        logger.warning("Time limit: %d row(s) of the batch released for the sweeper", len(released))
        raise
    finally:
        try:
            connection.close()
        except _CLOSE_ERRORS:
            pass  # every result is already recorded
    return retry
