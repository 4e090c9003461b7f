"""The SMTP sink's counting and the baseline's message copies."""

from __future__ import annotations

import smtplib

import pytest

from bench.mail import messages_from_sample, percentile
from bench.procs import free_port
from bench.smtp_sink import SmtpSink

SAMPLE = (
    b"Content-Type: text/plain\r\nSubject: New decision\r\nFrom: alerts@localhost\r\n"
    b"To: subscriber000001@bench.example\r\nMessage-ID: <original@bench.example>\r\n\r\nBody line\r\n"
)


@pytest.fixture
def sink(tmp_path):
    server = SmtpSink("127.0.0.1", free_port(), sample_dir=tmp_path)
    server.start()
    yield server
    server.stop()


def _send(sink: SmtpSink, messages: list[tuple[str, bytes]]) -> None:
    with smtplib.SMTP(sink.host, sink.port) as connection:
        for to, message in messages:
            connection.sendmail("alerts@localhost", [to], message)


def test_it_counts_messages_without_duplicates(sink):
    _send(sink, messages_from_sample(SAMPLE, 5))
    stats = sink.wait_for(5, timeout=10)
    assert (stats.received, stats.duplicates) == (5, 0)


def test_it_counts_a_second_message_to_one_recipient_as_a_duplicate(sink):
    first, second = messages_from_sample(SAMPLE, 2)
    _send(sink, [first, (first[0], second[1])])
    assert sink.wait_for(2, timeout=10).duplicates == 1


def test_it_counts_a_repeated_message_id_as_a_duplicate(sink):
    _send(sink, [("a@bench.example", SAMPLE), ("b@bench.example", SAMPLE)])
    assert sink.wait_for(2, timeout=10).duplicates == 1


def test_it_forgets_what_it_saw_on_reset(sink):
    messages = messages_from_sample(SAMPLE, 1)
    _send(sink, messages)
    sink.wait_for(1, timeout=10)
    sink.reset()
    _send(sink, messages)
    stats = sink.wait_for(1, timeout=10)
    assert (stats.received, stats.duplicates) == (1, 0)


def test_it_keeps_the_first_message_of_a_phase_as_a_sample(sink):
    generation = sink.reset()
    _send(sink, [("a@bench.example", SAMPLE)])
    sink.wait_for(1, timeout=10)
    assert sink.sample(generation).endswith(b"Body line")


def test_it_gives_each_copy_its_own_recipient_and_message_id():
    copies = messages_from_sample(SAMPLE, 3)
    assert [to for to, _ in copies] == [f"baseline{i:06d}@bench.example" for i in range(3)]
    for to, message in copies:
        assert f"\r\nTo: {to}\r\n".encode() in message
        assert b"<original@bench.example>" not in message
        assert message.endswith(b"\r\n\r\nBody line\r\n")
    assert len({message for _, message in copies}) == 3


def test_it_takes_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
