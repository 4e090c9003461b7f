"""Recording that the SMTP server accepted a message: the "sent" marks.

On PostgreSQL (psycopg 3, autocommit) each mark is one prepared UPDATE sent
on a database connection of its own without waiting for its answer, so that
it runs on the server while the next message is on the SMTP wire; its answer
is read before the next mark is sent, and when the batch ends. Since nothing
else uses that connection, the send loop and the code that renders, renews
claims or records failures (on Django's connection) never wait for it.

That connection is kept per worker process (per thread) and replaced with
Django's own: when Django closes or replaces its connection (CONN_MAX_AGE, an
error), the next batch opens a new one for its marks too. It commits without
waiting for the WAL to reach the disk (`synchronous_commit = off`): a worker
killed mid-batch has lost at most the message on the wire (each mark is still
its own statement, committed as it arrives); only a crash of the database
server itself could forget the last fraction of a second of marks, and those
messages would be mailed again. That wait was half the database time per
message. Django's connection is never changed.

Failure paths:
- the marks connection drops (server restart, network): the mark whose
  answer was lost is recorded again through the ORM (the statements are
  idempotent), and the rest of the batch is recorded through the ORM;
- a mark fails (the statement itself is refused): the message sent after it
  is recorded too, then DatabaseError stops the batch, so that no more mail
  goes out that cannot be recorded. The failed row stays claimed: the
  sweeper sends it again (one duplicate, the message whose mark failed).

Elsewhere (SQLite, or inside a transaction, where marks on another
connection could not see the claims) each mark is one ORM UPDATE.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from tracker.models import DIGEST_CADENCES, DigestDelivery, Notification, Subscriber

logger = logging.getLogger(__name__)

Record = Callable[[Any, str], None]


class Recorder:
    """Records that a message was accepted by the SMTP server. `sent` may
    return before the write has finished; leaving the `with` block waits for
    every write (and raises what failed)."""

    def __init__(self, record: Record) -> None:
        self._record = record

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def sent(self, item: Any, message_id: str) -> None:
        self._record(item, message_id)


@dataclass
class _MarksConnection:
    """One psycopg connection for sent marks."""

    connection: Any
    owner: Any  # Django's own psycopg connection when this one was opened
    pid: int

    def usable(self) -> bool:
        from psycopg import pq

        return (
            self.pid == os.getpid()
            and self.owner is db_connection.connection
            and not self.connection.closed
            and self.connection.pgconn.status == pq.ConnStatus.OK
        )


_local = threading.local()
# Connections inherited through a fork belong to the parent process: a child
# must neither use nor close them (closing would end the parent's session).
_inherited: list[_MarksConnection] = []


def _marks_connection() -> _MarksConnection:
    import psycopg

    db_connection.ensure_connection()
    held: _MarksConnection | None = getattr(_local, "held", None)
    if held is not None and not held.usable():
        _local.held = None
        if held.pid == os.getpid():
            marks_connection_discard(held)
        else:
            _inherited.append(held)
        held = None
    if held is None:
        params = {key: value for key, value in db_connection.get_connection_params().items() if key != "pool"}
        connection = psycopg.connect(**params, autocommit=True)
        try:
            connection.execute("SET synchronous_commit TO off")
        except Exception:
            connection.close()
            raise
        held = _local.held = _MarksConnection(connection, owner=db_connection.connection, pid=os.getpid())
    return held


def marks_connection_discard(held: _MarksConnection | None = None) -> None:
    """Close this process's marks connection (or `held`), if open."""
    current: _MarksConnection | None = getattr(_local, "held", None)
    held = held or current
    if held is None:
        return
    if current is held:
        _local.held = None
    try:
        held.connection.close()
    except Exception:  # noqa: BLE001 - already broken: nothing more to undo
        pass


def _command_ok(result: Any) -> None:
    """Raise psycopg's Error for a libpq command result that failed."""
    from psycopg import Error as PsycopgError
    from psycopg import pq

    if result.status != pq.ExecStatus.COMMAND_OK:
        raise PsycopgError((result.error_message or b"").decode("utf-8", "replace"))


class PipelinedRecorder(Recorder):
    """Sent marks pipelined on a connection of their own (see the module
    docstring). `statements` maps a key to the SQL of one mark; `choose(item)`
    picks the key and `params(item, message_id)` the values ($1, $2, ...).
    `fallback` records one mark through the ORM, for when the connection
    is lost."""

    def __init__(
        self,
        statements: dict[str, str],
        choose: Callable[[Any], str],
        params: Callable[[Any, str], Sequence[object]],
        *,
        fallback: Record,
    ) -> None:
        super().__init__(fallback)
        self._statements = statements
        self._choose = choose
        self._params = params
        self._held: _MarksConnection | None = None
        self._names: dict[str, str] = {}  # key -> prepared statement name, for this batch
        self._pending: tuple[Any, str] | None = None

    def __enter__(self) -> PipelinedRecorder:
        """Prepare the statements for this batch. Not once per connection:
        PostgreSQL plans a prepared statement for its first five runs, then
        may keep a generic plan, chosen with the statistics of that moment.
        A fan-out's new rows are often not analysed yet, and a generic plan
        made then (a sequential scan of a table thought empty) would be kept
        for the connection's life; planning every mark instead costs the
        server a planning per message. Prepared per batch, a generic plan
        lasts one batch."""
        from psycopg import Error as PsycopgError

        try:
            held = _marks_connection()
            for number, (key, sql) in enumerate(self._statements.items()):
                name = f"tracker_sent_{number}"
                _command_ok(held.connection.pgconn.prepare(name.encode(), sql.encode()))
                self._names[key] = name
        except PsycopgError as exc:
            logger.warning("Sent marks go through the ORM for this batch: %s", exc)
            marks_connection_discard()
            return self
        self._held = held
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._wait()
        finally:
            self._deallocate()

    def _deallocate(self) -> None:
        """Drop this batch's statements, so that the next batch plans afresh."""
        from psycopg import Error as PsycopgError

        if self._held is None:
            return
        try:
            _command_ok(self._held.connection.pgconn.exec_(b"DEALLOCATE ALL"))
        except PsycopgError as exc:
            # A connection that cannot deallocate cannot be trusted to prepare
            # the same names again: the next batch opens a new one.
            logger.warning("The connection for sent marks is replaced: %s", exc)
            marks_connection_discard(self._held)
        self._held = None
        self._names = {}

    def sent(self, item: Any, message_id: str) -> None:
        try:
            self._wait()
        except DatabaseError:
            # The previous mark failed; this message is on the server already,
            # so record it before reporting the failure (one resend, not two).
            self.sent(item, message_id)
            self._wait()
            raise
        if self._held is None:  # no marks connection (any more): the ORM records it
            self._record(item, message_id)
        else:
            self._send(item, message_id)

    def _send(self, item: Any, message_id: str) -> None:
        from psycopg import Error as PsycopgError

        assert self._held is not None  # sent() checked
        values = [None if value is None else str(value).encode() for value in self._params(item, message_id)]
        name = self._names[self._choose(item)]
        pgconn = self._held.connection.pgconn
        self._pending = (item, message_id)
        try:
            pgconn.send_query_prepared(name.encode(), values)
            while pgconn.flush():  # the socket took part of it: wait until it takes the rest
                select.select([], [pgconn.socket], [], 1.0)
        except PsycopgError as exc:
            self._connection_lost(exc)

    def _wait(self) -> None:
        """Read the answer to the last mark sent, if any."""
        from psycopg import Error as PsycopgError
        from psycopg import pq

        if self._pending is None or self._held is None:
            return
        pgconn = self._held.connection.pgconn
        error = None
        try:
            while (result := pgconn.get_result()) is not None:
                if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                    error = (result.error_message or b"").decode("utf-8", "replace")
        except PsycopgError as exc:
            self._connection_lost(exc)
            return
        if pgconn.status != pq.ConnStatus.OK:  # libpq reports a lost server as a failed result
            self._connection_lost(error or "the connection was lost")
            return
        self._pending = None
        if error is not None:
            raise DatabaseError(f"Recording a sent message failed: {error}")

    def _connection_lost(self, exc: object) -> None:
        """The marks connection broke: its last mark may or may not have been
        committed. Record it again through the ORM (the same conditional
        UPDATE: a second run changes nothing that matters), and the rest too."""
        logger.warning("The connection for sent marks was lost (%s); recording through the ORM", exc)
        marks_connection_discard(self._held)
        self._held = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._record(*pending)


def _pipelined() -> bool:
    """Whether "sent" marks can be pipelined: PostgreSQL through psycopg 3, in
    autocommit (inside a transaction the claims are not visible to another
    connection, and marks would not commit one by one)."""
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        return False
    db_connection.ensure_connection()
    return hasattr(db_connection.connection, "pgconn")


def notification_recorder(token: Any) -> Recorder:
    def sent(row: Notification, message_id: str) -> None:
        Notification.objects.filter(pk=row.pk, claim_token=token).update(
            sent_at=timezone.now(),
            message_id=message_id,
            last_error="",
        )

    if not _pipelined():
        return Recorder(sent)
    table = db_connection.ops.quote_name(Notification._meta.db_table)
    return PipelinedRecorder(
        {"": f"UPDATE {table} SET sent_at = $1, message_id = $2, last_error = '' WHERE id = $3 AND claim_token = $4"},
        lambda row: "",
        lambda row, message_id: (timezone.now().isoformat(), message_id, row.pk, token),
        fallback=sent,
    )


def digest_recorder(token: Any) -> Recorder:
    """Records a digest as sent and moves its subscriber's watermark, in one transaction."""

    def sent(row: DigestDelivery, message_id: str) -> None:
        watermark_field = Subscriber.watermark_field(row.cadence)
        with transaction.atomic():
            DigestDelivery.objects.filter(pk=row.pk, claim_token=token).update(
                sent_at=timezone.now(),
                message_id=message_id,
                last_error="",
                change_count=row.change_count,
            )
            Subscriber.objects.filter(pk=row.subscriber_id, **{f"{watermark_field}__lt": row.upto_change_id}).update(
                **{watermark_field: row.upto_change_id}
            )

    if not _pipelined():
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
        statements,
        lambda row: row.cadence,
        lambda row, message_id: (timezone.now().isoformat(), message_id, row.change_count, row.pk, token),
        fallback=sent,
    )
