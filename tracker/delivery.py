"""The delivery pipeline: fan-out, claiming, sending, digests, the sweeper.

Every step follows one pattern. A row in PostgreSQL says what must be sent
(Notification, DigestDelivery, a pending Subscription's confirmation). A
worker *claims* rows with a conditional UPDATE (only rows nobody holds), sends
them over one SMTP connection outside any transaction, and records each
result at once in a short UPDATE (on PostgreSQL without waiting for the
commit to reach the disk: a killed worker loses nothing, only a crash of the
database server itself could forget the last fraction of a second of
"sent" marks, and then mail those messages again). So:

- running a batch twice sends once (the second claim finds nothing);
- a worker killed mid-batch leaves its rows claimed; the sweeper releases
  claims older than TRACKER_CLAIM_TIMEOUT and queues them again. Only the
  message that was on the wire at the kill can arrive twice;
- a live worker re-asserts its claim on the rest of its batch whenever a
  quarter of TRACKER_CLAIM_TIMEOUT has passed since it last did (restarting
  their clock), so the sweeper never releases rows of a live batch; and if a
  batch did stall past the timeout, it skips the rows the sweeper released
  to another worker instead of sending them twice;
- Redis losing every task loses no mail: the sweeper finds unsent rows and
  unfinished fan-outs in the database and queues them again.

Emails to many subscribers are rendered once per content and addressed per
recipient (emails.Personaliser) and go to the SMTP connection as bytes.

Tasks (tracker/tasks.py) only call these functions and queue what they return.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import select
import smtplib
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import DatabaseError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from regulatory.models import Change
from tracker import emails, selectors
from tracker import smtp as tracker_smtp
from tracker.models import (
    DIGEST_CADENCES,
    UNSENT,
    ChangeFanOut,
    DeliveryRow,
    DigestDelivery,
    Notification,
    Subscriber,
    Subscription,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What sending can raise that says something about the mail system rather
# than about our code. Anything else propagates: a bug is not retried.
SEND_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, TimeoutError, ConnectionError, socket.gaierror)

MAX_RETRY_COUNTDOWN = 300


# --- Classifying SMTP failures ---------------------------------------------------

RECIPIENT_PERMANENT = "recipient-permanent"   # 5xx on RCPT: stop all mail to the address
MESSAGE_PERMANENT = "message-permanent"       # 5xx on DATA, malformed address: this message only
MESSAGE_TRANSIENT = "message-transient"       # 4xx on RCPT/DATA: retry this message; the connection is fine
CONNECTION_TRANSIENT = "connection-transient"  # disconnect, timeout, 421: retry the rest of the batch
CONNECTION_PERMANENT = "connection-permanent"  # 5xx outside RCPT/DATA (auth, sender): leave for the sweeper


@dataclass(frozen=True)
class SendFailure:
    kind: str
    text: str

    @property
    def transient(self) -> bool:
        return self.kind in (MESSAGE_TRANSIENT, CONNECTION_TRANSIENT)

    @property
    def stops_batch(self) -> bool:
        return self.kind in (CONNECTION_TRANSIENT, CONNECTION_PERMANENT)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:400]


def smtp_failure(exc: BaseException) -> SendFailure:
    """Classify an exception from opening a connection or sending one message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        text = f"Recipient refused: {code} {_text(reply)}"
        return SendFailure(RECIPIENT_PERMANENT if 500 <= code < 600 else MESSAGE_TRANSIENT, text)
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
        if code == 421:  # service closing the channel
            return SendFailure(CONNECTION_TRANSIENT, text)
        if isinstance(exc, smtplib.SMTPDataError):
            return SendFailure(MESSAGE_TRANSIENT if 400 <= code < 500 else MESSAGE_PERMANENT, text)
        return SendFailure(CONNECTION_TRANSIENT if 400 <= code < 500 else CONNECTION_PERMANENT, text)
    if isinstance(exc, (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionError, socket.gaierror)):
        return SendFailure(CONNECTION_TRANSIENT, f"{type(exc).__name__}: {_text(exc)}")
    if isinstance(exc, ValueError):  # an address or header Django refuses to encode
        return SendFailure(MESSAGE_PERMANENT, f"Cannot be sent: {_text(exc)}")
    return SendFailure(CONNECTION_PERMANENT, f"{type(exc).__name__}: {_text(exc)}")


def retry_countdown(retries: int) -> int:
    """Seconds before retry number `retries` + 1: exponential, jittered, and
    capped at minutes, far below the broker's visibility timeout."""
    base = settings.TRACKER_RETRY_BASE
    return int(min(base * 2 ** retries, MAX_RETRY_COUNTDOWN) + random.uniform(0, base))


# --- Sending one batch over one connection ---------------------------------------

def _send_one(connection, outgoing: emails.Outgoing, sender: str) -> None:
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


def _send_over_one_connection(
    items: Sequence[T],
    *,
    build: Callable[[T], emails.Outgoing | None],
    recorder: Recorder,
    on_failure: Callable[[T, SendFailure], bool],
    renew: Callable[[Sequence[T]], set[int]] | None = None,
) -> list[T]:
    """Send each item's message on one SMTP connection, recording each result
    as soon as it is known (`recorder.sent`; any other use of the database
    first waits for the recorder's last write). `on_failure` returns True
    when it released the item for another try. Returns the items to retry
    (transient failures).

    `renew(rest)` re-asserts the claims on the items not sent yet and returns
    the ids of those still held; it is called whenever claim_renew_interval()
    has passed since the claim or the last renewal. A batch that stalled past
    the claim timeout finds the rows the sweeper released to another worker
    missing from that set, and skips them."""
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
    try:
        for index, item in enumerate(items):
            if renew is not None and timezone.now() - renewed_at >= claim_renew_interval():
                recorder.flush()
                rest = [later for later in items[index:] if later.pk not in released_meanwhile]
                released_meanwhile |= {later.pk for later in rest} - renew(rest)
                renewed_at = timezone.now()
            if item.pk in released_meanwhile:
                logger.info("Skipping %r: its claim was released while the batch was running", item)
                continue
            outgoing = build(item)
            if outgoing is None:
                continue
            if type(connection) is not SmtpBackend:
                # The last mark overlaps the SMTP exchange only; another
                # backend may use the database itself (one that stores mail).
                recorder.flush()
            try:
                _send_one(connection, outgoing, sender)
            except (*SEND_ERRORS, ValueError) as exc:
                recorder.flush()
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
    finally:
        try:
            connection.close()
        except (*SEND_ERRORS, OSError):
            pass  # every result is already recorded
        recorder.flush()
    return retry


class Recorder:
    """Records that a message was accepted by the SMTP server. `sent` may
    return before the write has finished; `flush` waits for it (and raises
    what it raised). Used as a context manager around one batch."""

    def __init__(self, record: Callable[[T, str], None]) -> None:
        self._record = record

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info) -> None:
        self.flush()

    def sent(self, item, message_id: str) -> None:
        self._record(item, message_id)

    def flush(self) -> None:
        pass


class PipelinedRecorder(Recorder):
    """On PostgreSQL: each "sent" mark is one UPDATE statement sent without
    waiting for its answer, so that it runs on the server while the next
    message is on the SMTP wire; its answer is read before the next mark,
    and before anything else uses the connection. The statements are
    prepared once per batch (no parsing and planning per message).

    Each mark is still its own statement, committed by the server as soon as
    it arrives (autocommit), so a worker killed mid-batch has lost at most
    the message on the wire, as before. For the length of the batch the
    session commits without waiting for the WAL to reach the disk
    (`synchronous_commit = off`): only a crash of the database server itself
    could forget the last fraction of a second of marks, and those messages
    would be mailed again. That wait was half the database time per message."""

    def __init__(self, statements: dict[str, str], choose: Callable[[T], str],
                 params: Callable[[T, str], Sequence[object]]) -> None:
        self._names = {key: f"tracker_sent_{uuid.uuid4().hex}" for key in statements}
        self._statements = statements
        self._choose = choose
        self._params = params
        self._pending = False

    def __enter__(self) -> PipelinedRecorder:
        try:
            with db_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            self._pgconn = db_connection.connection.pgconn
            for key, sql in self._statements.items():
                self._pgconn.send_prepare(self._names[key].encode(), sql.encode())
                self._pending = True
                self.flush()
        except Exception:
            self._discard_connection()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self.flush()
        finally:
            try:
                with db_connection.cursor() as cursor:
                    for name in self._names.values():
                        cursor.execute(f"DEALLOCATE {name}")
                    cursor.execute("RESET synchronous_commit")
            except Exception:
                # The session's settings must not outlive the batch on a kept
                # connection: if they cannot be undone, the connection goes.
                self._discard_connection()
                if exc_type is None:
                    raise

    @staticmethod
    def _discard_connection() -> None:
        try:
            db_connection.close()
        except Exception:  # noqa: BLE001 - already broken: nothing more to undo
            pass

    def sent(self, item, message_id: str) -> None:
        try:
            self.flush()
        except DatabaseError:
            # The previous mark failed; this message is on the server already,
            # so record it before reporting the failure (one resend, not two).
            self._send(item, message_id)
            self.flush()
            raise
        self._send(item, message_id)

    def _send(self, item, message_id: str) -> None:
        values = [None if value is None else str(value).encode() for value in self._params(item, message_id)]
        self._pgconn.send_query_prepared(self._names[self._choose(item)].encode(), values)
        self._pending = True
        while self._pgconn.flush():  # the socket took part of it: wait until it takes the rest
            select.select([], [self._pgconn.socket], [], 1.0)

    def flush(self) -> None:
        from psycopg import Error as PsycopgError
        from psycopg import pq

        if not self._pending:
            return
        self._pending = False
        error = None
        try:
            while (result := self._pgconn.get_result()) is not None:
                if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                    error = (result.error_message or b"").decode("utf-8", "replace")
        except PsycopgError as exc:  # the connection itself failed
            self._discard_connection()
            raise OperationalError(f"Recording a sent message failed: {exc}") from exc
        if error is not None:
            raise DatabaseError(f"Recording a sent message failed: {error}")


def _pipelined() -> bool:
    """Whether "sent" marks can be pipelined: PostgreSQL through psycopg 3, in
    autocommit (inside a transaction, marks would not commit one by one)."""
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        return False
    db_connection.ensure_connection()
    return hasattr(db_connection.connection, "pgconn")


def _notification_recorder(token: uuid.UUID) -> Recorder:
    if not _pipelined():
        def sent(row: Notification, message_id: str) -> None:
            Notification.objects.filter(pk=row.pk, claim_token=token).update(
                sent_at=timezone.now(), message_id=message_id, last_error="",
            )
        return Recorder(sent)
    table = db_connection.ops.quote_name(Notification._meta.db_table)
    return PipelinedRecorder(
        {"": f"UPDATE {table} SET sent_at = $1, message_id = $2, last_error = '' WHERE id = $3 AND claim_token = $4"},
        lambda row: "",
        lambda row, message_id: (timezone.now().isoformat(), message_id, row.pk, token),
    )


def _digest_recorder(token: uuid.UUID) -> Recorder:
    """Records a digest as sent and moves its subscriber's watermark, in one transaction."""
    if not _pipelined():
        def sent(row: DigestDelivery, message_id: str) -> None:
            watermark_field = Subscriber.watermark_field(row.cadence)
            with transaction.atomic():
                DigestDelivery.objects.filter(pk=row.pk, claim_token=token).update(
                    sent_at=timezone.now(), message_id=message_id, last_error="", change_count=row.change_count,
                )
                Subscriber.objects.filter(
                    pk=row.subscriber_id, **{f"{watermark_field}__lt": row.upto_change_id}
                ).update(**{watermark_field: row.upto_change_id})
        return Recorder(sent)
    quote = db_connection.ops.quote_name
    digests, subscribers = quote(DigestDelivery._meta.db_table), quote(Subscriber._meta.db_table)
    statements = {
        # One statement, so one transaction: the watermark moves if and only
        # if this worker's claimed row was marked sent.
        str(cadence): (
            f"WITH sent AS (UPDATE {digests} SET sent_at = $1, message_id = $2, last_error = '', change_count = $3 "
            f"WHERE id = $4 AND claim_token = $5 RETURNING subscriber_id, upto_change_id) "
            f"UPDATE {subscribers} SET {quote(Subscriber.watermark_field(cadence))} = sent.upto_change_id FROM sent "
            f"WHERE {subscribers}.id = sent.subscriber_id "
            f"AND {subscribers}.{quote(Subscriber.watermark_field(cadence))} < sent.upto_change_id"
        )
        for cadence in DIGEST_CADENCES
    }

    return PipelinedRecorder(
        statements, lambda row: row.cadence,
        lambda row, message_id: (timezone.now().isoformat(), message_id, row.change_count, row.pk, token),
    )


# --- Claims on Notification and DigestDelivery rows ------------------------------

def _claim(model: type[DeliveryRow], ids: Sequence[int]) -> tuple[uuid.UUID, list]:
    """Claim the unsent, unclaimed rows among `ids`: one conditional UPDATE.
    Rows another worker holds, or that are done, are not returned."""
    token = uuid.uuid4()
    claimed = model.objects.filter(UNSENT, pk__in=list(ids), claimed_at__isnull=True,
                                   attempts__lt=settings.TRACKER_MAX_ATTEMPTS).update(
        claimed_at=timezone.now(), claim_token=token, attempts=F("attempts") + 1,
    )
    if not claimed:
        return token, []
    # pk__in keeps this on the primary key: claim_token has no index.
    rows = list(model.objects.filter(pk__in=list(ids), claim_token=token).select_related("subscriber").order_by("pk"))
    return token, _drop_inactive(model, token, rows)


def _claim_renew(model: type[DeliveryRow], token: uuid.UUID, rows: Sequence[DeliveryRow]) -> set[int]:
    """Re-assert this worker's claim on rows not sent yet and restart their
    clock; return the ids still held. A row missing from the answer was
    released by the sweeper (or finished) meanwhile: another worker may be
    sending it, so this one must not."""
    # On the primary key with the token, not the full UNSENT predicate: that
    # is the partial index's, and a planner with stale statistics walks the
    # index instead of the pk. The token is ours only while the row is
    # claimed and unfinished.
    mine = model.objects.filter(pk__in=[row.pk for row in rows], claim_token=token, sent_at__isnull=True)
    mine.update(claimed_at=timezone.now())
    return set(mine.values_list("pk", flat=True))


def _drop_inactive(model: type[DeliveryRow], token: uuid.UUID, rows: list) -> list:
    """Cancel rows whose subscriber left or bounced since the row was written."""
    inactive = [row.pk for row in rows if not row.subscriber.is_active]
    if inactive:
        model.objects.filter(pk__in=inactive, claim_token=token).update(
            cancelled_at=timezone.now(), last_error="The subscriber unsubscribed or the address bounced.",
        )
    return [row for row in rows if row.pk not in inactive]


def _row_failed(model: type[DeliveryRow], token: uuid.UUID, row: DeliveryRow, failure: SendFailure) -> bool:
    """Record a failure; True when the row was released for another try.
    A row this worker no longer holds (its claim was released and another
    worker took it) is left alone and never retried from here."""
    now = timezone.now()
    mine = model.objects.filter(pk=row.pk, claim_token=token, sent_at__isnull=True)  # on the pk, as _claim_renew
    if failure.kind == RECIPIENT_PERMANENT:
        with transaction.atomic():
            mine.update(failed_at=now, last_error=failure.text)
            subscriber_suppress(subscriber_id=row.subscriber_id, reason=failure.text)
        return False
    if failure.kind == MESSAGE_PERMANENT or row.attempts >= settings.TRACKER_MAX_ATTEMPTS:
        mine.update(failed_at=now, last_error=failure.text)
        return False
    return bool(mine.update(claimed_at=None, claim_token=None, last_error=failure.text))


def subscriber_suppress(*, subscriber_id: int, reason: str) -> None:
    """Stop all mail to an address that bounced permanently."""
    now = timezone.now()
    Subscriber.objects.filter(pk=subscriber_id, suppressed_at__isnull=True).update(
        suppressed_at=now, suppressed_reason=reason[:500],
    )
    for model in (Notification, DigestDelivery):
        model.objects.filter(UNSENT, subscriber_id=subscriber_id, claimed_at__isnull=True).update(
            cancelled_at=now, last_error="The address bounced permanently.",
        )


# --- Instant mail -----------------------------------------------------------------

@dataclass(frozen=True)
class FanOutStep:
    notification_ids: list[int]
    more: bool


def fan_out_step(*, change_id: int) -> FanOutStep:
    """Write the Notification rows for the next chunk of subscribers a change
    matches, and return them to be sent.

    Keyset pagination over subscriber ids; the position is kept in
    ChangeFanOut and advanced with a conditional UPDATE in the same
    transaction as the bulk insert, so a second fan-out of the same change
    (a redelivered task, the sweeper) either continues from there or stops."""
    change = (
        Change.objects.select_related("decision__jurisdiction")
        .prefetch_related("decision__therapies").filter(pk=change_id).first()
    )
    if change is None:
        return FanOutStep([], more=False)
    fan_out, _ = ChangeFanOut.objects.get_or_create(change_id=change_id)
    if fan_out.completed_at is not None:
        return FanOutStep([], more=False)
    if change.is_import:  # history loaded from the dataset is never news
        ChangeFanOut.objects.filter(pk=change_id).update(completed_at=timezone.now())
        return FanOutStep([], more=False)
    limit = settings.TRACKER_FAN_OUT_CHUNK
    scope = selectors.change_scopes([change])[change_id]
    subscriber_ids = selectors.fan_out_subscriber_ids(
        change_id=change_id, scope=scope, after_subscriber_id=fan_out.last_subscriber_id, limit=limit,
    )
    more = len(subscriber_ids) == limit
    with transaction.atomic():
        advanced = ChangeFanOut.objects.filter(
            pk=change_id, last_subscriber_id=fan_out.last_subscriber_id, completed_at__isnull=True,
        ).update(
            last_subscriber_id=subscriber_ids[-1] if subscriber_ids else fan_out.last_subscriber_id,
            completed_at=None if more else timezone.now(),
        )
        if not advanced:  # another run of this fan-out got here first
            return FanOutStep([], more=False)
        _notifications_insert(change_id=change_id, subscriber_ids=subscriber_ids)
    notification_ids = list(
        Notification.objects.filter(UNSENT, change_id=change_id, subscriber_id__in=subscriber_ids,
                                    claimed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    return FanOutStep(notification_ids, more=more)


def _notifications_insert(*, change_id: int, subscriber_ids: Sequence[int]) -> None:
    """One Notification row per subscriber for the change; a row that exists
    already is left as it is. On PostgreSQL one INSERT ... SELECT over an
    array, without building a model instance per row."""
    if not subscriber_ids:
        return
    if db_connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [Notification(subscriber_id=sid, change_id=change_id) for sid in subscriber_ids],
            ignore_conflicts=True, batch_size=500,
        )
        return
    table = db_connection.ops.quote_name(Notification._meta.db_table)
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscriber_id, change_id, created_at, attempts, last_error, message_id) "
            "SELECT subscriber_id, %s, %s, 0, '', '' FROM unnest(%s::bigint[]) AS subscriber_id "
            "ON CONFLICT DO NOTHING",
            [change_id, timezone.now(), list(subscriber_ids)],
        )


def notifications_write(*, subscriber_id: int, change_ids: Sequence[int]) -> list[int]:
    """Write instant Notification rows for one subscriber outside the fan-out
    (e.g. the unmailed changes of a subscription that leaves a digest) and
    return the ids still to send. A row that exists already (the fan-out, or
    another instant subscription, got there first) is not written twice."""
    if not change_ids:
        return []
    Notification.objects.bulk_create(
        [Notification(subscriber_id=subscriber_id, change_id=change_id) for change_id in change_ids],
        ignore_conflicts=True, batch_size=500,
    )
    return list(
        Notification.objects.filter(UNSENT, subscriber_id=subscriber_id, change_id__in=list(change_ids),
                                    claimed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )


def notification_batch_send(*, notification_ids: Sequence[int]) -> list[int]:
    """Claim and send instant notifications; return the ids to retry later."""
    token, rows = _claim(Notification, notification_ids)
    if not rows:
        return []
    changes = selectors.changes_for_delivery({row.change_id for row in rows})
    personaliser = emails.Personaliser()
    recorder = _notification_recorder(token)

    def build(row: Notification) -> emails.Outgoing:
        change = changes[row.change_id]
        if not personaliser.knows(row.change_id):
            recorder.flush()  # rendering may read the database: nothing may be pending on it
        return personaliser.outgoing(key=row.change_id, recipient=emails.notification_recipient(row),
                                     render=lambda recipient: emails.change_email(change, recipient))

    with recorder:
        retry = _send_over_one_connection(
            rows, build=build, recorder=recorder,
            on_failure=lambda row, failure: _row_failed(Notification, token, row, failure),
            renew=lambda rest: _claim_renew(Notification, token, rest),
        )
    return [row.pk for row in retry]


# --- Digests ----------------------------------------------------------------------

def digest_plan(*, cadence: str, now: dt.datetime | None = None,
                on_chunk: Callable[[list[int]], None] | None = None) -> list[int]:
    """Write a DigestDelivery row for every active subscriber whose `cadence`
    digest has changes since their watermark; return the ids to send (new
    rows, and older ones never sent). `on_chunk` gets each chunk's ids as
    soon as they are committed (beat queues them, so sending overlaps planning).

    Empty digests get no row, and their watermark moves to `upto` at once,
    so that the next run does not read the same changes again for a
    subscriber whose scope never matches. That is safe because nothing in
    (watermark, upto] matches any of their `cadence` subscriptions, and the
    subscriber rows are locked while that is worked out: a subscription
    changed meanwhile (subscription_update takes the same lock) is seen
    before the watermark moves, never after."""
    now = now or timezone.now()
    upto = selectors.change_latest_id()
    period = selectors.digest_period(cadence, now)
    watermark_field = Subscriber.watermark_field(cadence)
    to_send: list[int] = []
    after_subscriber_id = 0
    while True:
        chunk = selectors.digest_subscriber_ids(
            cadence=cadence, after_subscriber_id=after_subscriber_id, limit=settings.TRACKER_FAN_OUT_CHUNK,
        )
        if not chunk:
            break
        after_subscriber_id = chunk[-1]
        with transaction.atomic():
            watermarks = dict(
                Subscriber.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
                .values_list("pk", watermark_field)
            )
            bounds = {sid: (mark, upto) for sid, mark in watermarks.items() if mark < upto}
            contents = selectors.digest_build(cadence=cadence, bounds=bounds)
            if empty := [sid for sid in bounds if sid not in contents]:
                Subscriber.objects.filter(pk__in=empty, **{f"{watermark_field}__lt": upto}).update(
                    **{watermark_field: upto}
                )
                # A digest planned earlier for them and not sent yet covers a
                # part of that range, so it is empty too: drop it, so that no
                # unsent row ever lies below its subscriber's watermark.
                DigestDelivery.objects.filter(
                    UNSENT, cadence=cadence, subscriber_id__in=empty, claimed_at__isnull=True,
                ).delete()
        if contents:
            with transaction.atomic():
                DigestDelivery.objects.bulk_create(
                    [
                        DigestDelivery(subscriber_id=sid, cadence=cadence, after_change_id=bounds[sid][0],
                                       upto_change_id=upto, period=period, change_count=len(changes))
                        for sid, changes in contents.items()
                    ],
                    ignore_conflicts=True,
                )
                # A digest planned earlier and not sent yet (its watermark
                # has not moved) takes in the newer changes too.
                DigestDelivery.objects.filter(
                    UNSENT, cadence=cadence, subscriber_id__in=list(contents), claimed_at__isnull=True,
                    upto_change_id__lt=upto,
                ).update(upto_change_id=upto, period=period)
            chunk_ids = list(DigestDelivery.objects.filter(
                UNSENT, cadence=cadence, subscriber_id__in=list(contents), claimed_at__isnull=True,
            ).order_by("pk").values_list("pk", flat=True))
            to_send += chunk_ids
            if on_chunk is not None and chunk_ids:
                on_chunk(chunk_ids)
        if len(chunk) < settings.TRACKER_FAN_OUT_CHUNK:
            break
    return to_send


def digest_batch_send(*, delivery_ids: Sequence[int]) -> list[int]:
    """Claim and send digests; move each watermark in the same transaction
    that records the send. Returns the ids to retry later."""
    token, rows = _claim(DigestDelivery, delivery_ids)
    if not rows:
        return []
    contents: dict[str, dict[int, list[Change]]] = {}
    for cadence in {row.cadence for row in rows}:
        contents[cadence] = selectors.digest_build(
            cadence=cadence,
            bounds={r.subscriber_id: (r.after_change_id, r.upto_change_id) for r in rows if r.cadence == cadence},
        )

    personaliser = emails.Personaliser()
    recorder = _digest_recorder(token)

    def build(row: DigestDelivery) -> emails.Outgoing | None:
        changes = contents[row.cadence].get(row.subscriber_id)
        if not changes:
            # Nothing left to say (a subscription was removed meanwhile): an
            # empty digest is never sent, and the watermark stays.
            recorder.flush()
            DigestDelivery.objects.filter(pk=row.pk, claim_token=token).delete()
            return None
        row.change_count = len(changes)
        # Subscribers with the same changes in the same period get the same digest.
        key = (row.cadence, row.period, tuple(change.pk for change in changes))
        if not personaliser.knows(key):
            recorder.flush()  # rendering may read the database: nothing may be pending on it
        return personaliser.outgoing(
            key=key, recipient=emails.digest_recipient(row),
            render=lambda recipient: emails.digest_email(row.cadence, row.period, changes, recipient),
        )

    with recorder:
        retry = _send_over_one_connection(
            rows, build=build, recorder=recorder,
            on_failure=lambda row, failure: _row_failed(DigestDelivery, token, row, failure),
            renew=lambda rest: _claim_renew(DigestDelivery, token, rest),
        )
    return [row.pk for row in retry]


def digest_outcome(*, delivery_ids: Sequence[int]) -> dict[str, int]:
    """How many of these digests were sent and how many failed, for reports."""
    rows = DigestDelivery.objects.filter(pk__in=list(delivery_ids))
    return {"sent": rows.filter(sent_at__isnull=False).count(), "failed": rows.filter(failed_at__isnull=False).count()}


# --- Confirmation mail ----------------------------------------------------------

def confirmation_deliver(*, subscription_id: int) -> bool:
    """Send a pending subscription's confirmation link once. True when a
    transient failure released it for a retry."""
    claimed = Subscription.objects.filter(
        pk=subscription_id, confirmed_at__isnull=True, confirmation_sent_at__isnull=True,
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
            logger.warning("Confirmation for subscription %s not sent, left for the sweeper: %s",
                           item.pk, failure.text)
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
        recipient = emails.Recipient(email=item.subscriber.email, message_id=message.extra_headers["Message-ID"],
                                     manage_url="", unsubscribe_url="")
        return emails.Outgoing(recipient, None, lambda: message)

    retry = _send_over_one_connection([subscription], build=build, recorder=Recorder(sent), on_failure=failed)
    return bool(retry)


# --- The sweeper ---------------------------------------------------------------

@dataclass
class SweepPlan:
    """What the sweeper found; tasks.requeue() queues it."""

    change_ids: list[int] = field(default_factory=list)
    notification_batches: list[list[int]] = field(default_factory=list)
    digest_batches: list[list[int]] = field(default_factory=list)
    confirmation_ids: list[int] = field(default_factory=list)
    claims_released: int = 0
    given_up: int = 0
    expired: int = 0


def _batches(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def stalled_find(*, stale_after: int, claim_timeout: int, now: dt.datetime | None = None) -> SweepPlan:
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
    batch = settings.TRACKER_SEND_BATCH
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
    plan.notification_batches = _batches(list(
        Notification.objects.filter(UNSENT, claimed_at__isnull=True, created_at__lte=stale)
        .order_by("change_id", "pk").values_list("pk", flat=True)
    ), batch)
    plan.digest_batches = _batches(list(
        DigestDelivery.objects.filter(UNSENT, claimed_at__isnull=True, created_at__lte=stale)
        .order_by("pk").values_list("pk", flat=True)
    ), batch)

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
