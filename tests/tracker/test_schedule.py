"""Beat schedule and digest settings; the shipped dataset notifies nobody."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail

from tests.tracker.factories import subscriber_with
from tracker import delivery
from tracker.models import Cadence, ChangeFanOut, Notification

ROOT = Path(__file__).resolve().parents[2]


def test_it_schedules_both_digests_and_the_sweeper():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["tracker-digest-daily"]["task"] == "tracker.tasks.digest_run"
    assert schedule["tracker-digest-daily"]["args"] == ("daily",)
    assert schedule["tracker-digest-weekly"]["args"] == ("weekly",)
    assert schedule["tracker-sweep"]["task"] == "tracker.tasks.stalled_requeue"
    assert schedule["tracker-sweep"]["schedule"] == settings.TRACKER_SWEEP_INTERVAL


def _settings_with(**env: str) -> subprocess.CompletedProcess:
    code = ("from django.conf import settings as s; b = s.CELERY_BEAT_SCHEDULE; "
            "print(b['tracker-digest-daily']['schedule']); print(b['tracker-digest-weekly']['schedule'])")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                          env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                          capture_output=True, text=True, timeout=60)


def test_it_reads_digest_times_from_the_environment():
    result = _settings_with(DIGEST_DAILY_AT="06:30", DIGEST_WEEKLY_DAY="friday", DIGEST_WEEKLY_AT="08:15")

    daily, weekly = result.stdout.strip().splitlines()
    assert daily == str(crontab(minute=30, hour=6))
    assert weekly == str(crontab(minute=15, hour=8, day_of_week="fri"))


@pytest.mark.parametrize(("name", "value"), [("DIGEST_DAILY_AT", "7am"), ("DIGEST_DAILY_AT", "25:00"),
                                             ("DIGEST_WEEKLY_DAY", "someday")])
def test_it_stops_on_a_bad_digest_setting(name, value):
    result = _settings_with(**{name: value})

    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"Configuration error: {name} ")


def _delivery_settings(**env: str) -> subprocess.CompletedProcess:
    code = "from django.conf import settings as s; print(s.TRACKER_CLAIM_TIMEOUT, s.TRACKER_SEND_BATCH, s.EMAIL_TIMEOUT)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "EMAIL_TIMEOUT"}
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                          env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                          capture_output=True, text=True, timeout=60)


def test_it_refuses_to_start_when_claims_can_lapse_between_two_renewals():
    # Renewed every 900 / 4 = 225 s; one connection and one message may take
    # 2 x 120 s more: 465 s > half the timeout.
    result = _delivery_settings(TRACKER_CLAIM_TIMEOUT="900", EMAIL_TIMEOUT="120")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: TRACKER_CLAIM_TIMEOUT "), result.stderr


def test_it_starts_on_defaults_where_claims_are_renewed_well_within_their_timeout():
    result = _delivery_settings()

    assert result.returncode == 0, result.stderr
    claim_timeout, batch, email_timeout = map(int, result.stdout.split())
    assert claim_timeout / 4 + 2 * email_timeout <= claim_timeout / 2


def test_it_allows_large_batches_since_claims_are_renewed_during_a_batch():
    result = _delivery_settings(TRACKER_CLAIM_TIMEOUT="900", TRACKER_SEND_BATCH="1000", EMAIL_TIMEOUT="20")

    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_it_notifies_nobody_when_the_shipped_dataset_is_loaded():
    from regulatory.loader import history_load

    subscriber_with("carol@example.org")
    subscriber_with("dave@example.org", cadence=Cadence.DAILY)

    history_load()
    plan = delivery.stalled_find(stale_after=0, claim_timeout=900)
    digests = delivery.digest_plan(cadence=Cadence.DAILY)

    assert plan.change_ids == []
    assert digests == []
    assert not Notification.objects.exists() and not ChangeFanOut.objects.exists()
    assert mail.outbox == []
