"""The sweeper and the on-commit hook: nothing is lost when the broker is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone
from kombu.exceptions import OperationalError

from regulatory.services import decision_publish
from tests.factories import DecisionFactory, published_decision
from tests.tracker.factories import pending_subscription, subscriber_with
from tracker import delivery, tasks
from tracker.delivery import claims
from tracker.models import Cadence, ChangeFanOut, DigestDelivery, Notification, Subscriber, Subscription

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(hours=1)


def _sweep(*, now=None, stale_after: int = 600, claim_timeout: int = 900) -> delivery.SweepPlan:
    return delivery.stalled_sweep(
        stale_after=stale_after, claim_timeout=claim_timeout, now=now or timezone.now() + LATER
    )


def test_it_queues_the_fan_out_when_a_change_commits(queued, django_capture_on_commit_callbacks):
    decision = DecisionFactory()

    with django_capture_on_commit_callbacks(execute=True):
        change = decision_publish(decision=decision)

    assert queued == [("tracker.tasks.change_fan_out", (change.pk,))]


def test_it_queues_nothing_for_a_dataset_import(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        decision_publish(decision=DecisionFactory(), is_import=True)

    assert queued == []


def test_it_does_not_fail_a_publish_when_the_broker_is_down(monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.change_fan_out, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        change = decision_publish(decision=DecisionFactory())

    assert change.pk


def test_it_finds_changes_whose_fan_out_never_ran_or_stopped(queued):
    never = published_decision().changes.get()
    stopped = published_decision().changes.get()
    ChangeFanOut.objects.create(change=stopped, last_subscriber_id=7)
    done = published_decision().changes.get()
    ChangeFanOut.objects.create(change=done, completed_at=timezone.now())
    decision_publish(decision=DecisionFactory(), is_import=True)

    plan = _sweep()

    assert plan.change_ids == [never.pk, stopped.pk]


def test_it_leaves_recent_work_to_the_queue():
    published_decision()

    plan = _sweep(now=timezone.now())

    assert plan.change_ids == []


def test_it_requeues_unsent_unclaimed_notifications_in_batches(settings):
    settings.TRACKER_SEND_BATCH = 2
    for name in "abc":
        subscriber_with(f"{name}@example.org")
    change = published_decision().changes.get()
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids

    plan = _sweep()

    assert plan.notification_batches == [ids[:2], ids[2:]]


def test_it_releases_claims_of_a_dead_worker_and_requeues_them():
    subscriber_with("carol@example.org")
    change = published_decision().changes.get()
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids
    claims.claim(Notification, ids)  # then the worker died

    recent = _sweep(now=timezone.now() + dt.timedelta(seconds=60))
    stale = _sweep(now=timezone.now() + dt.timedelta(seconds=901))

    assert recent.claims_released == 0 and recent.notification_batches == []
    assert stale.claims_released == 1 and stale.notification_batches == [ids]


def test_it_gives_up_on_rows_that_used_every_attempt(settings):
    settings.TRACKER_MAX_ATTEMPTS = 3
    subscriber_with("carol@example.org")
    change = published_decision().changes.get()
    delivery.change_fan_out(change_id=change.pk)
    Notification.objects.update(attempts=3)

    plan = _sweep()

    assert plan.given_up == 1
    assert Notification.objects.get().failed_at is not None


def test_it_requeues_unsent_digests():
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision()
    ids = delivery.digest_plan(cadence=Cadence.DAILY)

    plan = _sweep()

    assert plan.digest_batches == [ids]


def test_it_requeues_confirmations_that_were_never_mailed():
    subscription = pending_subscription("carol@example.org")

    plan = _sweep()

    assert plan.confirmation_ids == [subscription.pk]


def test_it_forgets_pending_subscriptions_whose_link_expired():
    pending_subscription("carol@example.org")

    plan = _sweep(now=timezone.now() + dt.timedelta(days=8))

    assert plan.expired == 1
    assert not Subscription.objects.exists()
    assert not Subscriber.objects.exists()


def test_it_requeues_from_the_command_line(queued):
    subscriber_with("carol@example.org")
    change = published_decision().changes.get()

    call_command("requeue_stalled", "--stale-after", "0")

    assert ("tracker.tasks.change_fan_out", (change.pk,)) in queued


def test_it_runs_the_beat_sweeper_task(queued, settings):
    settings.TRACKER_STALE_AFTER = 0
    change = published_decision().changes.get()

    tasks.stalled_sweep()

    assert queued == [("tracker.tasks.change_fan_out", (change.pk,))]


def test_it_chains_the_fan_out_task_until_done(queued, settings):
    settings.TRACKER_FAN_OUT_CHUNK = 1
    settings.TRACKER_SEND_BATCH = 10
    subscriber_with("a@example.org")
    subscriber_with("b@example.org")
    change = published_decision().changes.get()

    tasks.change_fan_out(change.pk)

    assert [name for name, _ in queued] == ["tracker.tasks.notification_batch_send", "tracker.tasks.change_fan_out"]


def test_it_makes_a_second_notification_impossible_in_the_schema():
    carol = subscriber_with("carol@example.org")
    change = published_decision().changes.get()
    Notification.objects.create(subscriber=carol, change=change)

    with pytest.raises(IntegrityError):
        Notification.objects.create(subscriber=carol, change=change)


def test_it_makes_a_second_digest_from_one_watermark_impossible_in_the_schema():
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    DigestDelivery.objects.create(
        subscriber=carol, cadence=Cadence.DAILY, after_change_id=0, upto_change_id=5, period="2025-01-01"
    )

    with pytest.raises(IntegrityError):
        DigestDelivery.objects.create(
            subscriber=carol, cadence=Cadence.DAILY, after_change_id=0, upto_change_id=6, period="2025-01-02"
        )


def test_it_keeps_one_subscriber_per_address_whatever_the_case():
    Subscriber.objects.create(email="carol@example.org")

    with pytest.raises(IntegrityError):
        Subscriber.objects.create(email="CAROL@example.org")
