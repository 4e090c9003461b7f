"""Self-healing delivery: worker heartbeats, claims that belong to a live
worker, and the heal sweep that repairs an ordinary incident within seconds."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import published_decision
from tests.tracker.conftest import wait_until
from tests.tracker.factories import subscriber_with
from tracker import delivery
from tracker.delivery import claims, heartbeat
from tracker.models import ChangeFanOut, Notification, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def _notify(*emails: str) -> list[int]:
    for address in emails:
        subscriber_with(address)
    change = published_decision().changes.get()
    return delivery.change_fan_out(change_id=change.pk).notification_ids


def _worker(*, beat_ago: float, busy: bool = False, task_ago: float | None = None) -> uuid.UUID:
    now = timezone.now()
    row = WorkerHeartbeat.objects.create(
        id=uuid.uuid4(),
        name="host:1",
        beat_at=now - dt.timedelta(seconds=beat_ago),
        busy=busy,
        task_at=None if task_ago is None else now - dt.timedelta(seconds=task_ago),
    )
    return row.pk


def _claimed_by(worker_id: uuid.UUID | None, ids: list[int], *, ago: float = 10) -> None:
    Notification.objects.filter(pk__in=ids).update(
        claimed_at=timezone.now() - dt.timedelta(seconds=ago),
        claim_token=uuid.uuid4(),
        claimed_by=worker_id,
        attempts=1,
    )


@pytest.fixture
def this_process_is_a_worker(monkeypatch) -> heartbeat._Process:
    """This process as a worker child whose heartbeat row is written (no thread:
    the test beats by hand)."""
    state = heartbeat._Process(worker_id=uuid.uuid4(), name="test:1")
    monkeypatch.setattr(heartbeat, "_process", state)
    heartbeat.beat(state)
    return state


def test_a_dead_workers_claims_are_released_and_queued_again_at_once():
    ids = _notify("a@example.org", "b@example.org")
    _claimed_by(_worker(beat_ago=20), ids)  # killed 20 s ago: silent past TRACKER_HEARTBEAT_TIMEOUT (15 s)

    plan = delivery.stalled_heal()

    assert plan.claims_released == 2
    assert plan.notification_batches == [ids]
    assert not Notification.objects.filter(claimed_at__isnull=False).exists()


def test_a_live_workers_claims_are_left_alone():
    ids = _notify("a@example.org")
    _claimed_by(_worker(beat_ago=1, busy=True), ids, ago=600)

    plan = delivery.stalled_heal()

    assert plan.claims_released == 0 and plan.notification_batches == []
    assert Notification.objects.get().claimed_at is not None


def test_claims_taken_outside_a_worker_wait_for_the_claim_timeout():
    ids = _notify("a@example.org")
    _claimed_by(None, ids, ago=600)  # e.g. `send_digests` in a shell that was closed

    healed = delivery.stalled_heal()
    swept = delivery.stalled_sweep(stale_after=600, claim_timeout=900, now=timezone.now() + dt.timedelta(seconds=301))

    assert healed.claims_released == 0
    assert swept.claims_released == 1


def test_work_nobody_holds_is_queued_again_when_no_worker_works(settings):
    ids = _notify("a@example.org", "b@example.org")
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER + 1))
    _worker(beat_ago=1, task_ago=60)  # alive, idle for a minute: its queue is empty

    plan = delivery.stalled_heal()

    assert plan.notification_batches == [ids]


def test_work_nobody_holds_waits_while_a_worker_works(settings):
    _notify("a@example.org")
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER + 1))
    _worker(beat_ago=1, busy=True)  # the batch may be in the queue behind its task

    assert delivery.stalled_heal().notification_batches == []


def test_work_nobody_holds_waits_while_rows_are_being_claimed_without_a_heartbeat(settings):
    ids = _notify("a@example.org", "b@example.org")
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER + 1))
    _claimed_by(None, ids[:1], ago=1)  # a worker on a pool without heartbeats is at work

    assert delivery.stalled_heal().notification_batches == []


def test_a_stopped_workers_old_busy_flag_does_not_hold_the_heal_back(settings):
    ids = _notify("a@example.org")
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER + 1))
    _worker(beat_ago=60, busy=True)  # stopped mid-task a minute ago: not alive

    assert delivery.stalled_heal().notification_batches == [ids]


def test_rows_released_for_a_retry_are_left_to_their_countdown(settings):
    _notify("busy@example.org")
    Notification.objects.update(
        created_at=timezone.now() - dt.timedelta(seconds=60), attempts=1, last_error="Recipient refused: 451 later"
    )

    assert delivery.stalled_heal().notification_batches == []


def test_recent_work_is_left_to_the_queue():
    _notify("a@example.org")

    assert delivery.stalled_heal().notification_batches == []


def test_an_unfinished_fan_out_whose_progress_stamp_stands_still_is_queued_again(settings):
    moving = published_decision().changes.get()
    stuck = published_decision().changes.get()
    long_ago = timezone.now() - dt.timedelta(seconds=settings.TRACKER_LOST_AFTER + 1)
    ChangeFanOut.objects.create(change=moving, last_subscriber_id=7, stepped_at=timezone.now())
    ChangeFanOut.objects.create(change=stuck, last_subscriber_id=7)
    ChangeFanOut.objects.filter(pk=stuck.pk).update(started_at=long_ago, stepped_at=long_ago)
    type(moving).objects.update(recorded_at=long_ago)

    plan = delivery.stalled_heal()

    assert plan.change_ids == [stuck.pk]


def test_a_fan_out_step_moves_its_progress_stamp(settings):
    settings.TRACKER_FAN_OUT_CHUNK = 1
    subscriber_with("a@example.org")
    subscriber_with("b@example.org")
    change = published_decision().changes.get()

    delivery.change_fan_out(change_id=change.pk)

    assert ChangeFanOut.objects.get(pk=change.pk).stepped_at is not None


def test_requeue_stalled_with_its_defaults_heals_right_after_an_incident(queued, settings):
    ids = _notify("a@example.org", "b@example.org", "c@example.org")
    _claimed_by(_worker(beat_ago=30), ids[:2])  # the worker was killed mid-batch
    Notification.objects.filter(pk=ids[2]).update(created_at=timezone.now() - dt.timedelta(seconds=30))

    call_command("requeue_stalled")

    assert queued == [("tracker.tasks.notification_batch_send", (ids,))]


def test_claims_carry_the_worker_that_took_them(this_process_is_a_worker):
    ids = _notify("a@example.org")

    claims.claim(Notification, ids)

    assert Notification.objects.get().claimed_by == this_process_is_a_worker.worker_id


def test_a_process_whose_heartbeat_row_is_not_written_yet_claims_anonymously(monkeypatch):
    monkeypatch.setattr(heartbeat, "_process", heartbeat._Process(worker_id=uuid.uuid4(), name="test:1"))
    ids = _notify("a@example.org")

    claims.claim(Notification, ids)

    assert Notification.objects.get().claimed_by is None


def test_a_worker_stopped_past_its_heartbeat_reasserts_its_claims_and_skips_what_went_elsewhere(
    scripted_mail, this_process_is_a_worker, monkeypatch
):
    state = this_process_is_a_worker
    ids = _notify("a@example.org", "b@example.org", "c@example.org")

    def stopped_then_another_worker_took_over() -> None:
        # SIGSTOP while a is on the wire: no beats for a minute; the heal
        # releases the rest of the batch and another worker sends it.
        state.beat_started -= 60
        WorkerHeartbeat.objects.filter(pk=state.worker_id).update(beat_at=timezone.now() - dt.timedelta(seconds=60))
        Notification.objects.update(claimed_at=timezone.now() - dt.timedelta(seconds=60))
        plan = delivery.stalled_heal()
        monkeypatch.setattr(heartbeat, "_process", None)
        for batch in plan.notification_batches:
            delivery.notification_batch_send(notification_ids=batch)
        monkeypatch.setattr(heartbeat, "_process", state)

    scripted_mail.during_send = {"a@example.org": stopped_then_another_worker_took_over}

    delivery.notification_batch_send(notification_ids=ids)

    # Only a, the message on the wire during the stop, went twice.
    assert Counter(m.to[0] for m in scripted_mail.sent) == {"a@example.org": 2, "b@example.org": 1, "c@example.org": 1}
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_a_heartbeat_that_resumed_before_the_batch_still_makes_it_reassert(
    scripted_mail, this_process_is_a_worker, monkeypatch
):
    state = this_process_is_a_worker
    ids = _notify("a@example.org", "b@example.org")
    renewals = []
    real_renew = claims.claim_renew
    monkeypatch.setattr(
        "tracker.delivery.instant.claim_renew", lambda *args: (renewals.append(1), real_renew(*args))[1]
    )

    def stopped_and_the_heartbeat_thread_woke_first() -> None:
        state.beat_started -= 60
        heartbeat.beat(state)  # the heartbeat thread beats again before the batch goes on

    scripted_mail.during_send = {"a@example.org": stopped_and_the_heartbeat_thread_woke_first}

    delivery.notification_batch_send(notification_ids=ids)

    assert renewals == [1]  # the gap was noticed: b's claim was asserted again before b was sent
    assert len(scripted_mail.sent) == 2


def test_a_healthy_worker_sends_a_batch_without_reasserting(scripted_mail, this_process_is_a_worker, monkeypatch):
    ids = _notify("a@example.org", "b@example.org", "c@example.org")
    renewals = []
    monkeypatch.setattr("tracker.delivery.instant.claim_renew", lambda *args: renewals.append(1) or set())

    delivery.notification_batch_send(notification_ids=ids)

    assert renewals == [] and len(scripted_mail.sent) == 3


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_beats_from_a_thread_and_removes_its_row_when_it_stops(settings, monkeypatch):
    settings.TRACKER_HEARTBEAT_INTERVAL = 1
    monkeypatch.setattr(heartbeat, "_process", None)

    heartbeat.heartbeat_start()
    try:
        wait_until(lambda: heartbeat.current_worker_id() is not None, timeout=10, what="the first beat")
        row = WorkerHeartbeat.objects.get(pk=heartbeat.current_worker_id())
        first = row.beat_at
        wait_until(lambda: WorkerHeartbeat.objects.get(pk=row.pk).beat_at > first, timeout=10, what="a second beat")
    finally:
        heartbeat.heartbeat_stop()

    assert not WorkerHeartbeat.objects.filter(pk=row.pk).exists()
    assert heartbeat.current_worker_id() is None


def test_a_worker_counts_as_busy_while_it_runs_a_task(this_process_is_a_worker):
    heartbeat.task_started()
    heartbeat.beat()

    assert heartbeat.workers_busy(within=10)

    heartbeat.task_finished()
    time.sleep(0.01)
    heartbeat.beat()
    assert WorkerHeartbeat.objects.get().busy is False
    assert heartbeat.workers_busy(within=10)  # finished just now
    assert not heartbeat.workers_busy(within=0)
