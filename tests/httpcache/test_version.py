"""The record version kept in process memory and dropped by LISTEN/NOTIFY.

The tests that need NOTIFY run on PostgreSQL with `transaction=True` (a
test's own transaction never commits, so nothing would ever be notified);
they wait for a notification with a bounded poll, never a sleep."""

from __future__ import annotations

import importlib
import os
import time

import pytest
from django.db import connection, transaction

from regulatory import selectors
from regulatory.httpcache import version
from regulatory.models import Change
from regulatory.selectors import RecordVersion
from regulatory.services import decision_update
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision

migration = importlib.import_module("regulatory.migrations.0004_postgres_record_version_notify")
three_dimensions = importlib.import_module("regulatory.migrations.0007_record_three_dimensions")

STATUS = "/api/v1/status/?as_of=2024-09-01"
WAIT = 10.0  # seconds: the longest any notification or reconnection may take


def _eventually(condition, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"after {WAIT}s: {what}")


def test_the_migration_watches_exactly_the_tables_the_version_reads():
    tables = [Change._meta.db_table] + [model.history.model._meta.db_table for model in selectors._versioned_models()]

    assert migration.TABLES + three_dimensions.NEW_HISTORY_TABLES == tables
    assert migration.CHANNEL == version.CHANNEL


# --- the rules, without a database connection -----------------------------------------


@pytest.fixture
def idle_watcher(monkeypatch):
    """A watcher that believes it listens (its thread not started), on a pipe
    standing in for its socket; `selectors.record_version` is replaced by a
    counter so each query gives a new version."""
    reads, writes = os.pipe()
    w = version.Watcher({})
    w.listening, w.fd = True, reads
    w.alive_at = time.monotonic()
    calls = []

    def record_version():
        calls.append(1)
        if getattr(w, "during_query", None):
            w.during_query()
        return RecordVersion(key=str(len(calls)), last_modified=None)

    monkeypatch.setattr(selectors, "record_version", record_version)
    monkeypatch.setattr(version, "_in_transaction", lambda: False)
    yield w, writes, calls
    os.close(reads)
    os.close(writes)


def test_it_keeps_a_version_read_while_listening(idle_watcher):
    w, _writes, calls = idle_watcher

    first = w.read()

    assert w.usable() == first
    assert len(calls) == 1


def test_it_never_keeps_a_version_read_across_a_notification(idle_watcher):
    w, _writes, _calls = idle_watcher
    w.during_query = w._moved  # the notification lands while the query runs

    w.read()

    assert w.usable() is None


def test_it_drops_the_kept_version_on_a_notification(idle_watcher):
    w, _writes, _calls = idle_watcher
    w.read()

    w._moved()

    assert w.usable() is None


def test_it_does_not_trust_the_kept_version_while_the_socket_has_unread_input(idle_watcher):
    w, writes, _calls = idle_watcher
    w.read()

    os.write(writes, b"x")  # a notification (or a hang-up) the thread has not handled yet

    assert w.usable() is None


def test_it_stops_trusting_the_kept_version_without_recent_proof_that_notifications_arrive(idle_watcher):
    w, _writes, _calls = idle_watcher
    w.read()

    w.alive_at -= version.TRUST_FOR + 1  # no notification and no ping came back for that long

    assert w.usable() is None


def test_it_keeps_nothing_while_not_listening(idle_watcher):
    w, _writes, _calls = idle_watcher
    w._moved(listening=False)

    w.read()

    assert w.usable() is None


def test_it_keeps_nothing_read_inside_a_transaction(idle_watcher, monkeypatch):
    w, _writes, _calls = idle_watcher
    monkeypatch.setattr(version, "_in_transaction", lambda: True)

    w.read()

    assert w.usable() is None


@pytest.mark.django_db
def test_it_queries_every_time_when_listening_is_off(settings, django_assert_num_queries):
    settings.RECORD_VERSION_LISTEN = False

    with django_assert_num_queries(2):
        version.current()
        version.current()

    assert version.watcher() is None


# --- with PostgreSQL ------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LISTEN/NOTIFY needs PostgreSQL (SQLite queries the version every time)"
)


@pytest.fixture
def listening(settings, transactional_db):
    settings.RECORD_VERSION_LISTEN = True
    w = version.watcher()
    _eventually(w.listening_event.is_set, "the watcher never listened")
    yield w
    version.reset()


@pytest.fixture
def record(transactional_db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    return published_decision(jurisdiction=us, therapies=[therapy])


def _etag(client) -> str:
    response = client.get(STATUS)
    assert response.status_code == 200
    return response["ETag"]


def _settled_etag(client, w) -> str:
    """The ETag once the watcher holds a version (writes made before may
    still be being notified)."""

    def kept():
        _etag(client)
        return w.usable() is not None

    _eventually(kept, "the version was never kept")
    return _etag(client)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_read_costs_no_query_while_the_version_is_kept(record, listening, anon_client, django_assert_num_queries):
    etag = _settled_etag(anon_client, listening)

    with django_assert_num_queries(0):
        response = anon_client.get(STATUS, HTTP_IF_NONE_MATCH=etag)
        again = anon_client.get(STATUS, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert again.status_code == 304


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_etag_is_stable_across_reads(record, listening, anon_client):
    etag = _settled_etag(anon_client, listening)

    assert {_etag(anon_client) for _ in range(5)} == {etag}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_committed_write_through_the_services_changes_the_etag(record, listening, anon_client, alice):
    etag = _settled_etag(anon_client, listening)

    decision_update(decision=record, by=alice, data={"title": "Corrected"}, change_kind="correct", note="Typo.")

    _eventually(lambda: _etag(anon_client) != etag, "the ETag never changed after a committed write")
    assert selectors.record_version() == version.current()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_raw_update_of_a_versioned_table_is_seen(record, listening, anon_client):
    _settled_etag(anon_client, listening)
    before = anon_client.get(STATUS)["Last-Modified"]

    # Ids stay, so the ETag does too (it names the ids); the times move, and
    # with them Last-Modified, which comes from the same kept version.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE regulatory_historicaldecision SET history_date = history_date + interval '2 days'")

    _eventually(
        lambda: anon_client.get(STATUS)["Last-Modified"] != before, "Last-Modified never moved after a raw UPDATE"
    )
    assert version.current() == selectors.record_version()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_raw_insert_into_a_versioned_table_changes_the_etag(record, listening, anon_client):
    etag = _settled_etag(anon_client, listening)

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO regulatory_historicaljurisdiction (id, code, name, position, covers_substances,"
            " history_date, history_type)"
            " SELECT id, code, name, position, covers_substances, now(), '~' FROM regulatory_jurisdiction LIMIT 1"
        )

    _eventually(lambda: _etag(anon_client) != etag, "the ETag never changed after a raw INSERT")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_uncommitted_write_is_not_announced(record, listening, anon_client, alice):
    etag = _settled_etag(anon_client, listening)
    generation = listening.generation

    with transaction.atomic():
        decision_update(decision=record, by=alice, data={"title": "Never"}, change_kind="correct", note="x")
        assert listening.generation == generation  # nothing is told before commit
        transaction.set_rollback(True)

    assert _etag(anon_client) == etag


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_killed_listen_connection_never_serves_a_stale_etag_and_recovers(
    record, listening, anon_client, alice, django_assert_num_queries
):
    etag = _settled_etag(anon_client, listening)
    killed = listening.backend_pid

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [killed])  # returns once it has gone
    # Written while nobody listens: no notification will ever say so.
    decision_update(decision=record, by=alice, data={"title": "Unheard"}, change_kind="correct", note="x")

    after = _etag(anon_client)
    assert after != etag
    # Back, with a new connection: versions are kept again, and right.
    _eventually(lambda: listening.listening and listening.backend_pid not in (None, killed), "no reconnection")
    assert _settled_etag(anon_client, listening) == after
    with django_assert_num_queries(0):
        assert anon_client.get(STATUS, HTTP_IF_NONE_MATCH=after).status_code == 304


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_editors_always_read_the_version_from_the_database(
    record, listening, alice_client, anon_client, django_assert_max_num_queries
):
    _settled_etag(anon_client, listening)

    with django_assert_max_num_queries(20) as captured:
        alice_client.get(STATUS)

    assert any("MAX(history_id)" in query["sql"] for query in captured.captured_queries)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_its_ping_comes_back_and_renews_trust_without_dropping_the_version(record, listening, anon_client, monkeypatch):
    etag = _settled_etag(anon_client, listening)
    generation = listening.generation
    monkeypatch.setattr(version, "PING_EVERY", 0.2)
    listening.alive_at -= version.TRUST_FOR + 1
    assert listening.usable() is None  # stale: readers query

    _eventually(lambda: time.monotonic() - listening.alive_at < 1.0, "the ping never came back")

    assert listening.generation == generation  # a ping is not a write
    assert listening.usable() is not None
    assert _etag(anon_client) == etag
