"""Two editors saving one decision at the same moment, as real concurrent
requests (each thread has its own database connection) on PostgreSQL:
exactly one save wins, the other is refused with the conflict message, and
the public history (Change rows) agrees with the record."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from regulatory.editors import editor_create
from regulatory.models import Change, Decision
from regulatory.services import decision_snapshot
from tests.factories import published_decision
from tests.regulatory.test_admin import _form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite takes one writer at a time: the saves cannot overlap there"
    ),
]

# Only a guard against a hung test: nothing here is timed.
WAIT_AT_MOST = 60


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless told otherwise.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _at_the_same_moment(decision: Decision, *requests: Callable[[], object]) -> list:
    """Run each request in its own thread while this test holds the decision's
    row lock, wait until every one of them is blocked on it (so each has read
    and validated the same version), then let them all go at once."""
    results: list = [None] * len(requests)

    def run(i: int, request: Callable[[], object]) -> None:
        try:
            results[i] = request()
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    with transaction.atomic():
        Decision.objects.select_for_update().get(pk=decision.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT_AT_MOST
        while _waiting_on_locks() < len(requests):
            if time.monotonic() > deadline or not any(t.is_alive() for t in threads):
                break
            time.sleep(0.01)
        blocked = _waiting_on_locks()
    for thread in threads:
        thread.join(WAIT_AT_MOST)
    assert blocked == len(requests), f"only {blocked} of the requests reached the row lock: {results}"
    return results


def _replayed(changes) -> dict:
    """The record as its public history tells it: each Change's diff applied in order."""
    state: dict = {}
    for change in changes:
        for name, (old, new) in change.diff.items():
            if change.kind != "publish":
                assert state.get(name) == old, (
                    f"change #{change.pk} starts {name} from {old!r}, not {state.get(name)!r}"
                )
            state[name] = new
    return state


def test_two_simultaneous_admin_saves_one_wins_one_is_told_and_the_history_agrees(alice):
    carol, _token = editor_create(username="carol", email="carol@example.org")
    decision = published_decision(title="Original", summary="Original summary.")
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])
    clients = {}
    for user in (alice, carol):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    edits = {
        "alice": _form_data(decision, title="Alice's title", change_kind="correct", change_note="Typo."),
        "carol": _form_data(decision, summary="Carol's summary.", change_kind="amend", change_note="News."),
    }

    alice_response, carol_response = _at_the_same_moment(
        decision,
        lambda: clients["alice"].post(url, edits["alice"]),
        lambda: clients["carol"].post(url, edits["carol"]),
    )

    responses = {"alice": alice_response, "carol": carol_response}
    assert sorted(r.status_code for r in responses.values()) == [200, 302], responses
    winner = next(name for name, r in responses.items() if r.status_code == 302)
    loser = "carol" if winner == "alice" else "alice"
    assert "Someone else changed this decision since you opened it; reload" in responses[loser].content.decode()
    decision.refresh_from_db()
    assert decision.version == 3  # published at 2, one save
    assert (decision.title, decision.summary) == {
        "alice": ("Alice's title", "Original summary."),
        "carol": ("Original", "Carol's summary."),
    }[winner]
    changes = list(Change.objects.filter(decision=decision).order_by("id"))
    assert [c.recorded_by.username if c.recorded_by else None for c in changes] == [None, winner]
    snapshot = decision_snapshot(decision)
    assert {name: snapshot[name] for name in _replayed(changes)} == _replayed(changes)
    assert decision.history.latest().title == decision.title


def test_two_simultaneous_api_edits_from_one_version_one_wins_one_gets_409_and_the_history_agrees(alice):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    carol, carol_token = editor_create(username="carol", email="carol@example.org")
    decision = published_decision(title="Original", summary="Original summary.")
    clients = {}
    for name, key in (("alice", Token.objects.get(user=alice).key), ("carol", carol_token)):
        clients[name] = APIClient()
        clients[name].credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/decisions/{decision.pk}/"
    edits = {
        "alice": {"title": "Alice's title", "change_kind": "correct", "note": "Typo.", "version": decision.version},
        "carol": {"summary": "Carol's summary.", "change_kind": "amend", "note": "News.", "version": decision.version},
    }

    alice_response, carol_response = _at_the_same_moment(
        decision,
        lambda: clients["alice"].patch(url, edits["alice"], format="json"),
        lambda: clients["carol"].patch(url, edits["carol"], format="json"),
    )

    responses = {"alice": alice_response, "carol": carol_response}
    assert sorted(r.status_code for r in responses.values()) == [200, 409], responses
    winner = next(name for name, r in responses.items() if r.status_code == 200)
    decision.refresh_from_db()
    assert (decision.title, decision.summary) == {
        "alice": ("Alice's title", "Original summary."),
        "carol": ("Original", "Carol's summary."),
    }[winner]
    changes = list(Change.objects.filter(decision=decision).order_by("id"))
    assert [c.recorded_by.username if c.recorded_by else None for c in changes] == [None, winner]
    snapshot = decision_snapshot(decision)
    assert {name: snapshot[name] for name in _replayed(changes)} == _replayed(changes)
