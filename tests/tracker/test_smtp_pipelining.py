"""tracker.smtp.sendmail: MAIL, RCPT and DATA in one write when the server
offers PIPELINING, with smtplib's errors and connection handling."""

from __future__ import annotations

import smtplib
from collections import Counter

import pytest

from tests.factories import published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery
from tracker.delivery import marks
from tracker.models import Notification, Subscriber
from tracker.smtp import sendmail

MESSAGE = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\n"
    b"first line\r\n.a line that starts with a period\r\n"
)


class CountingSMTP(smtplib.SMTP):
    writes = 0

    def send(self, s):
        self.writes += 1
        return super().send(s)


@pytest.fixture
def smtp(smtp_sink):
    connection = CountingSMTP("127.0.0.1", smtp_sink.port, timeout=10)
    yield connection
    try:
        connection.quit()
    except smtplib.SMTPServerDisconnected:
        pass


def _writes_for_one_message(smtp) -> int:
    before = smtp.writes
    sendmail(smtp, "alerts@example.org", "b@example.org", MESSAGE)
    return smtp.writes - before


def test_it_sends_commands_and_message_in_two_writes_when_the_server_offers_pipelining(smtp_sink, smtp):
    _writes_for_one_message(smtp)  # EHLO happens on the first one

    assert _writes_for_one_message(smtp) == 2
    assert smtp_sink.count() == 2
    rcpts, message = smtp_sink.parsed()[-1]
    assert rcpts == ["b@example.org"]
    assert message["Message-ID"] == "<m1@example.org>"
    # Dot-stuffed on the wire, restored by the server.
    assert message.get_content().splitlines()[1] == ".a line that starts with a period"


def test_it_falls_back_to_one_command_at_a_time_without_pipelining(smtp_sink, smtp):
    smtp_sink.pipelining = False
    _writes_for_one_message(smtp)

    assert _writes_for_one_message(smtp) == 4
    assert smtp_sink.count() == 2


def test_it_can_be_turned_off(smtp_sink, smtp):
    sendmail(smtp, "alerts@example.org", "b@example.org", MESSAGE, pipelining=False)
    before = smtp.writes
    sendmail(smtp, "alerts@example.org", "b@example.org", MESSAGE, pipelining=False)

    assert smtp.writes - before == 4


@pytest.mark.parametrize("reply, code", [("451 4.3.0 Mailbox busy", 451), ("550 5.1.1 No such user", 550)])
def test_a_refused_recipient_raises_as_smtplib_does_and_the_connection_goes_on(smtp_sink, smtp, reply, code):
    smtp_sink.refuse_always["gone@example.org"] = reply

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        sendmail(smtp, "alerts@example.org", "gone@example.org", MESSAGE)
    sendmail(smtp, "alerts@example.org", "b@example.org", MESSAGE)

    assert refused.value.recipients["gone@example.org"][0] == code
    assert delivery.smtp_failure(refused.value).kind == (
        delivery.RECIPIENT_PERMANENT if code == 550 else delivery.MESSAGE_TRANSIENT
    )
    assert [rcpts for rcpts, _ in smtp_sink.received] == [["b@example.org"]]


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker: the sent marks are pipelined on PostgreSQL
def test_a_batch_over_a_pipelining_server_suppresses_a_refused_address_and_sends_the_rest(smtp_sink, settings):
    settings.SITE_URL = "https://tracker.example.org"
    for address in ("a@example.org", "gone@example.org", "c@example.org"):
        subscriber_with(address)
    smtp_sink.refuse_always["gone@example.org"] = "550 5.1.1 No such user"
    change = published_decision().changes.get()
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids

    assert delivery.notification_batch_send(notification_ids=ids) == []

    assert sorted(r for rcpts, _ in smtp_sink.received for r in rcpts) == ["a@example.org", "c@example.org"]
    assert smtp_sink.mail_commands == 3
    assert Subscriber.objects.get(email="gone@example.org").suppressed_at is not None
    gone = Notification.objects.get(subscriber__email="gone@example.org")
    assert gone.failed_at is not None and "550" in gone.last_error
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_sent_marks_are_pipelined_on_postgresql_and_the_session_is_left_as_it_was(smtp_sink, settings, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("pipelined marks are PostgreSQL's (SQLite records each with the ORM)")
    settings.SITE_URL = "https://tracker.example.org"
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        subscriber_with(address)
    change = published_decision().changes.get()
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids
    pipelined = []
    real_send = marks.PipelinedRecorder._send
    monkeypatch.setattr(
        marks.PipelinedRecorder,
        "_send",
        lambda self, item, message_id: (pipelined.append(item.pk), real_send(self, item, message_id)),
    )

    assert delivery.notification_batch_send(notification_ids=ids) == []

    assert sorted(pipelined) == sorted(ids)
    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tracker_sent_%%'")
        assert cursor.fetchone() == (0,)


# --- The marks' own connection and its failure paths (PostgreSQL) -------------------


def _pipelined_batch(*addresses: str) -> list[int]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("pipelined marks are PostgreSQL's (SQLite records each with the ORM)")
    for address in addresses:
        subscriber_with(address)
    change = published_decision().changes.get()
    return delivery.change_fan_out(change_id=change.pk).notification_ids


def _marks_backend_pid() -> int | None:
    held = getattr(marks._local, "held", None)
    return None if held is None else held.connection.pgconn.backend_pid


@pytest.mark.django_db(transaction=True)
def test_the_marks_connection_commits_without_waiting_for_the_disk_and_serves_the_next_batch(scripted_mail):
    ids = _pipelined_batch("a@example.org", "b@example.org")

    delivery.notification_batch_send(notification_ids=ids[:1])
    first = _marks_backend_pid()
    delivery.notification_batch_send(notification_ids=ids[1:])

    assert first is not None and _marks_backend_pid() == first
    held = marks._local.held
    assert held.connection.execute("SHOW synchronous_commit").fetchone() == ("off",)
    # Prepared per batch and deallocated at its end: a generic plan made while
    # the fan-out's rows were unanalysed (a sequential scan per mark) lasts one
    # batch, not the connection's life.
    assert held.connection.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tracker_sent_%%'"
    ).fetchone() == (0,)
    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_marks_connection_is_replaced_with_djangos_own(scripted_mail):
    from django.db import connection

    ids = _pipelined_batch("a@example.org", "b@example.org")
    delivery.notification_batch_send(notification_ids=ids[:1])
    old = marks._local.held.connection

    connection.close()  # as CONN_MAX_AGE or an error would
    delivery.notification_batch_send(notification_ids=ids[1:])

    assert old.closed
    assert marks._local.held.connection is not old
    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_marks_connection_dropped_mid_batch_loses_no_mark_and_the_batch_goes_on(scripted_mail):
    from django.db import connection

    addresses = ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]
    ids = _pipelined_batch(*addresses)

    def drop_the_marks_connection() -> None:
        with connection.cursor() as cursor:  # as a database restart or a network cut would
            cursor.execute("SELECT pg_terminate_backend(%s)", [_marks_backend_pid()])

    scripted_mail.during_send = {"b@example.org": drop_the_marks_connection}

    assert delivery.notification_batch_send(notification_ids=ids) == []

    assert Counter(m.to[0] for m in scripted_mail.sent) == dict.fromkeys(addresses, 1)
    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 4
    assert getattr(marks._local, "held", None) is None  # the dead connection was let go
    # The next batch opens a new one.
    more = _pipelined_batch("e@example.org")
    delivery.notification_batch_send(notification_ids=more)
    assert _marks_backend_pid() is not None
    assert Notification.objects.get(pk=more[0]).sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_marks_connection_lost_before_its_statements_are_dropped_is_replaced_for_the_next_batch(
    scripted_mail, monkeypatch
):
    from django.db import connection

    ids = _pipelined_batch("a@example.org", "b@example.org")
    real_deallocate = marks.PipelinedRecorder._deallocate
    lost = []

    def lost_first(self):
        lost.append(_marks_backend_pid())
        with connection.cursor() as cursor:  # every mark answered, then the server goes
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [lost[-1]])
        real_deallocate(self)

    monkeypatch.setattr(marks.PipelinedRecorder, "_deallocate", lost_first)

    assert delivery.notification_batch_send(notification_ids=ids) == []

    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 2
    assert getattr(marks._local, "held", None) is None  # not kept to prepare the same names again
    monkeypatch.setattr(marks.PipelinedRecorder, "_deallocate", real_deallocate)
    more = _pipelined_batch("c@example.org")
    assert delivery.notification_batch_send(notification_ids=more) == []
    assert _marks_backend_pid() not in (None, lost[0])
    assert Notification.objects.get(pk=more[0]).sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_failed_mark_stops_the_batch_after_recording_the_message_already_sent(scripted_mail, monkeypatch):
    from django.db import DatabaseError

    ids = _pipelined_batch("a@example.org", "b@example.org", "c@example.org", "d@example.org")
    b = Notification.objects.get(subscriber__email="b@example.org").pk
    real_send = marks.PipelinedRecorder._send

    def refused_for_b(self, item, message_id):
        # Longer than the column: the server refuses this one mark.
        real_send(self, item, "x" * 300 if item.pk == b else message_id)

    monkeypatch.setattr(marks.PipelinedRecorder, "_send", refused_for_b)

    with pytest.raises(DatabaseError, match="Recording a sent message failed"):
        delivery.notification_batch_send(notification_ids=ids)

    sent = dict(Notification.objects.filter(pk__in=ids).values_list("subscriber__email", "sent_at"))
    # c was on the server when b's failure was read: recorded, so it is not sent again.
    assert [m.to[0] for m in scripted_mail.sent] == ["a@example.org", "b@example.org", "c@example.org"]
    assert sent["a@example.org"] and sent["c@example.org"]
    # b stays claimed and unsent (the sweeper sends it again: the one duplicate); d was never sent.
    assert sent["b@example.org"] is None and sent["d@example.org"] is None
    assert Notification.objects.get(pk=b).claimed_at is not None
    # The marks connection itself is fine for the next batch.
    more = _pipelined_batch("e@example.org")
    monkeypatch.setattr(marks.PipelinedRecorder, "_send", real_send)
    assert delivery.notification_batch_send(notification_ids=more) == []
    assert Notification.objects.get(pk=more[0]).sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_marks_connection_cannot_be_opened_records_through_the_orm(scripted_mail, monkeypatch):
    import psycopg

    ids = _pipelined_batch("a@example.org", "b@example.org")

    def refused(*args, **kwargs):
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(psycopg, "connect", refused)

    assert delivery.notification_batch_send(notification_ids=ids) == []

    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 2
    assert len(scripted_mail.sent) == 2
