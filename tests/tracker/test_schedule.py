"""Beat schedule and digest settings; the shipped dataset notifies nobody."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import current_app
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.celery import worker_settings_check
from tests.tracker.factories import subscriber_with
from tracker import checks, delivery, tasks
from tracker.models import Cadence, ChangeFanOut, Notification

ROOT = Path(__file__).resolve().parents[2]


def test_it_schedules_both_digests_and_the_sweeper():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["tracker-digest-daily"]["task"] == "tracker.tasks.digest_plan"
    assert schedule["tracker-digest-weekly"]["task"] == "tracker.tasks.digest_plan"
    assert schedule["tracker-digest-daily"]["args"] == ("daily",)
    assert schedule["tracker-digest-weekly"]["args"] == ("weekly",)
    assert schedule["tracker-sweep"]["task"] == "tracker.tasks.stalled_sweep"
    assert schedule["tracker-sweep"]["schedule"] == settings.TRACKER_SWEEP_INTERVAL
    # Often enough to heal an ordinary incident within seconds.
    assert schedule["tracker-heal"]["task"] == "tracker.tasks.stalled_heal"
    assert schedule["tracker-heal"]["schedule"] == settings.TRACKER_HEAL_INTERVAL <= 10


def test_the_sweepers_tasks_have_a_queue_every_worker_consumes():
    from config.celery import app

    queues = {queue.name for queue in app.conf.task_queues}

    assert queues == {"celery", "tracker-sweeper"}  # a worker without -Q consumes both
    for name in ("tracker.tasks.stalled_heal", "tracker.tasks.stalled_sweep"):
        assert app.amqp.router.route({}, name)["queue"].name == "tracker-sweeper"
    assert app.amqp.router.route({}, "tracker.tasks.notification_batch_send")["queue"].name == "celery"


def _settings_with(**env: str) -> subprocess.CompletedProcess:
    code = (
        "from django.conf import settings as s; b = s.CELERY_BEAT_SCHEDULE; "
        "print(b['tracker-digest-daily']['schedule']); print(b['tracker-digest-weekly']['schedule'])"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_reads_digest_times_from_the_environment():
    result = _settings_with(DIGEST_DAILY_AT="06:30", DIGEST_WEEKLY_DAY="friday", DIGEST_WEEKLY_AT="08:15")

    daily, weekly = result.stdout.strip().splitlines()
    assert daily == str(crontab(minute=30, hour=6))
    assert weekly == str(crontab(minute=15, hour=8, day_of_week="fri"))


@pytest.mark.parametrize(
    ("name", "value"), [("DIGEST_DAILY_AT", "7am"), ("DIGEST_DAILY_AT", "25:00"), ("DIGEST_WEEKLY_DAY", "someday")]
)
def test_it_stops_on_a_bad_digest_setting(name, value):
    result = _settings_with(**{name: value})

    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"Configuration error: {name} ")


def test_a_claim_timeout_that_can_lapse_between_two_renewals_fails_the_system_check(settings):
    # Renewed every 900 / 4 = 225 s; one connection and one message may take
    # 2 x 120 s more: 465 s > half the timeout.
    settings.TRACKER_CLAIM_TIMEOUT, settings.EMAIL_TIMEOUT = 900, 120

    errors = checks.claim_timeout_check()

    assert [error.id for error in errors] == ["tracker.E001"]
    assert "960" in errors[0].msg  # 8 x EMAIL_TIMEOUT
    with pytest.raises(SystemCheckError, match="tracker.E001"):
        call_command("check")


def test_a_worker_refuses_to_start_when_the_claim_timeout_check_fails(settings, capsys):
    settings.TRACKER_CLAIM_TIMEOUT, settings.EMAIL_TIMEOUT = 900, 120

    with pytest.raises(SystemExit) as exit_:
        worker_settings_check()

    assert exit_.value.code == 1
    assert "tracker.E001" in capsys.readouterr().err


def test_the_defaults_renew_claims_well_within_their_timeout(settings):
    assert checks.claim_timeout_check() == []
    assert checks.heartbeat_check() == []
    assert settings.TRACKER_CLAIM_TIMEOUT / 4 + 2 * settings.EMAIL_TIMEOUT <= settings.TRACKER_CLAIM_TIMEOUT / 2
    worker_settings_check()  # returns: the worker starts


def test_a_heartbeat_timeout_shorter_than_three_beats_fails_the_system_check(settings):
    settings.TRACKER_HEARTBEAT_INTERVAL, settings.TRACKER_HEARTBEAT_TIMEOUT = 5, 10

    assert [error.id for error in checks.heartbeat_check()] == ["tracker.E002"]


def test_it_allows_large_batches_since_claims_are_renewed_during_a_batch(settings):
    settings.TRACKER_CLAIM_TIMEOUT, settings.TRACKER_SEND_BATCH, settings.EMAIL_TIMEOUT = 900, 1000, 20

    assert checks.claim_timeout_check() == []


def test_every_delivery_task_has_a_soft_and_a_hard_time_limit():
    names = [name for name in current_app.tasks if name.startswith("tracker.tasks.")]

    assert len(names) == 11  # seven tasks and four old names kept for messages queued before a deploy
    for name in names:
        task = current_app.tasks[name]
        assert 0 < task.soft_time_limit < task.time_limit, name


def test_each_task_carries_the_name_of_the_function_it_calls():
    for name in (
        "change_fan_out",
        "notification_batch_send",
        "digest_plan",
        "digest_batch_send",
        "confirmation_send",
        "stalled_sweep",
        "stalled_heal",
    ):
        assert getattr(tasks, name).name == f"tracker.tasks.{name}"
        assert callable(getattr(delivery, name))


@pytest.mark.django_db
def test_it_notifies_nobody_when_the_shipped_dataset_is_loaded():
    from regulatory.loader import history_load

    subscriber_with("carol@example.org")
    subscriber_with("dave@example.org", cadence=Cadence.DAILY)

    history_load()
    plan = delivery.stalled_sweep(stale_after=0, claim_timeout=900)
    digests = delivery.digest_plan(cadence=Cadence.DAILY)

    assert plan.change_ids == []
    assert digests == []
    assert not Notification.objects.exists() and not ChangeFanOut.objects.exists()
    assert mail.outbox == []
