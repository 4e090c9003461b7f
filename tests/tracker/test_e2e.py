"""End to end, with real parts: a Celery worker process, Redis, the test
database, and an SMTP server in this process. Mail is counted at the SMTP
server, by Message-ID.

The fault tests record their figures (expected / received / duplicated / seconds to recover) in
test-artifacts/tracker-fault-figures.json and print them (`pytest -s`).
"""

from __future__ import annotations

import re
import time

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import JurisdictionFactory, TherapyFactory, published_decision
from tests.tracker.conftest import CeleryWorker, fault_figures_record, redis_flush, wait_until
from tests.tracker.factories import subscriber_with
from tracker.models import UNSENT, Cadence, ChangeFanOut, DigestDelivery, Notification, Subscriber, Subscription
from tracker.selectors import change_latest_id
from tracker.tasks import digest_plan

pytestmark = pytest.mark.e2e

WAIT = 60  # seconds: the longest any single wait may take


@pytest.fixture
def us(transactional_db):
    return JurisdictionFactory(code="us", name="United States")


@pytest.fixture
def au(transactional_db):
    return JurisdictionFactory(code="au", name="Australia")


@pytest.fixture
def mdma(transactional_db):
    return TherapyFactory(slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD")


@pytest.fixture
def many_steps(settings):
    """Chunks and batches far smaller than the defaults (5,000 and 200), so that
    a fault lands in the middle of a fan-out of several steps and of many
    batches. Requested before celery_worker, which passes them on."""
    settings.TRACKER_FAN_OUT_CHUNK, settings.TRACKER_SEND_BATCH = 500, 20


def _publish(by, **kwargs):
    """An editor publishes a decision announced today (news, not history)."""
    return published_decision(by=by, **{"announced_on": timezone.now().date(), **kwargs})


def _plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _bulk_subscribers(count: int, prefix: str) -> list[str]:
    """`count` confirmed subscribers to everything, instantly, from now on."""
    now, start = timezone.now(), change_latest_id()
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.org", confirmed_at=now) for i in range(count)],
        batch_size=1000,
    )
    Subscription.objects.bulk_create(
        [
            Subscription(subscriber=s, cadence=Cadence.INSTANT, confirmed_at=now, starts_after_change_id=start)
            for s in subscribers
        ],
        batch_size=1000,
    )
    return [s.email for s in subscribers]


def _delivered(change_id: int) -> bool:
    """The fan-out is finished and no notification of the change is unsent."""
    return (
        ChangeFanOut.objects.filter(pk=change_id, completed_at__isnull=False).exists()
        and not Notification.objects.filter(UNSENT, change_id=change_id).exists()
    )


def _duplicates(sink) -> int:
    return sum(count - 1 for count in sink.message_id_counts().values())


def test_it_confirms_then_mails_each_matching_subscriber_exactly_once(
    celery_worker, smtp_sink, client, alice, us, au, mdma
):
    response = client.post(
        "/api/v1/subscriptions/",
        {"email": "carol@example.org", "cadence": "instant", "jurisdictions": ["us"]},
        content_type="application/json",
    )
    assert response.status_code == 202
    client.post(
        "/api/v1/subscriptions/", {"email": "gina@example.org", "cadence": "instant"}, content_type="application/json"
    )  # never confirmed
    wait_until(lambda: len(smtp_sink.to("carol@example.org")) == 1, timeout=WAIT, what="the confirmation mail")
    confirmation = smtp_sink.to("carol@example.org")[0]
    link = re.search(r"https?://\S+/subscribe/confirm/\S+/", _plain(confirmation)).group(0)
    # Opening the link shows a button and changes nothing; pressing it (a POST) confirms.
    assert client.get(link.removeprefix(settings.SITE_URL)).status_code == 200
    assert Subscription.objects.get(subscriber__email="carol@example.org").confirmed_at is None
    assert client.post(link.removeprefix(settings.SITE_URL)).status_code == 200
    subscriber_with("dave@example.org", jurisdictions=[au])
    subscriber_with("erin@example.org")
    subscriber_with("frank@example.org", jurisdictions=[us])
    subscriber_with("frank@example.org", therapies=[mdma])

    change = _publish(alice, jurisdiction=us, therapies=[mdma], title="FDA accepts the NDA").changes.get()
    for address in ("carol@example.org", "erin@example.org", "frank@example.org"):
        wait_until(
            lambda a=address: any(m["Subject"].startswith("New decision") for m in smtp_sink.to(a)),
            timeout=WAIT,
            what=f"the instant mail to {address}",
        )
    wait_until(lambda: _delivered(change.pk), timeout=WAIT, what="every notification recorded")
    time.sleep(1)

    assert smtp_sink.to("dave@example.org") == []
    assert len(smtp_sink.to("gina@example.org")) == 1  # the confirmation link, nothing else
    assert len(smtp_sink.to("frank@example.org")) == 1
    assert len(smtp_sink.to("erin@example.org")) == 1
    mailed = smtp_sink.to("carol@example.org")[1]
    notification = Notification.objects.get(subscriber__email="carol@example.org")
    assert mailed["Message-ID"] == notification.message_id
    # Long headers are folded; a reader unfolds them (RFC 5322 section 2.2.3).
    assert mailed["List-Unsubscribe"].strip().startswith(f"<{settings.SITE_URL}/unsubscribe/")
    assert mailed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mailed["Auto-Submitted"] == "auto-generated"
    assert "FDA accepts the NDA" in _plain(mailed)
    assert _duplicates(smtp_sink) == 0


def test_it_sends_one_daily_digest_per_subscriber_with_changes_and_nothing_on_a_second_run(
    celery_worker, smtp_sink, alice, us, au, capsys
):
    subscriber_with("gina@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    subscriber_with("hank@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    subscriber_with("ivan@example.org", cadence=Cadence.DAILY)
    first = _publish(alice, jurisdiction=us, title="First US decision").changes.get()
    second = _publish(alice, jurisdiction=us, title="Second US decision").changes.get()
    wait_until(lambda: _delivered(first.pk) and _delivered(second.pk), timeout=WAIT, what="the fan-outs")

    digest_plan.delay("daily")
    wait_until(
        lambda: len(smtp_sink.to("gina@example.org")) == 1 and len(smtp_sink.to("ivan@example.org")) == 1,
        timeout=WAIT,
        what="two digests",
    )
    wait_until(lambda: not DigestDelivery.objects.filter(UNSENT).exists(), timeout=WAIT, what="digests recorded")
    capsys.readouterr()
    call_command("send_digests", "daily")
    digest_plan.delay("daily")
    time.sleep(3)

    assert "Sent 0 daily digest(s)" in capsys.readouterr().out
    assert smtp_sink.to("hank@example.org") == []
    assert smtp_sink.count() == 2
    body = _plain(smtp_sink.to("gina@example.org")[0])
    assert "First US decision" in body and "Second US decision" in body
    assert set(
        Subscriber.objects.filter(email__in=["gina@example.org", "ivan@example.org"]).values_list(
            "daily_watermark", flat=True
        )
    ) == {second.pk}
    # Hank's digest was empty: nothing sent, but his watermark moved past what he need not read again.
    assert Subscriber.objects.get(email="hank@example.org").daily_watermark == second.pk


def _mid_fan_out(smtp_sink, alice, us, expected: int, prefix: str):
    """`expected` subscribers, a published change, and its fan-out under way."""
    addresses = _bulk_subscribers(expected, prefix)
    change = _publish(alice, jurisdiction=us).changes.get()
    wait_until(lambda: smtp_sink.count() >= 300, timeout=WAIT, what="the fan-out to get going")
    return addresses, change


def _paused_holding_claims(worker, change, at_least: int = 5, tries: int = 50) -> tuple[int, int]:
    """SIGSTOP the worker at an instant when it holds claims on at least
    `at_least` unsent notifications of `change` (a batch under way, not the
    gap between two); return how many, and the stops it took. Between
    batches a stopped worker holds nothing and has nothing to re-assert when
    it wakes, so the instant is sampled: resumed and stopped again until the
    precondition holds."""
    for stop in range(1, tries + 1):
        worker.pause()
        claimed = Notification.objects.filter(UNSENT, change=change, claimed_at__isnull=False).count()
        if claimed >= at_least:
            return claimed, stop
        worker.resume()
        time.sleep(0.05)
    pytest.fail(f"the worker never held {at_least} claims at a stop in {tries} tries")


def _recovered(smtp_sink, change, expected: int, started: float) -> float:
    """Seconds from `started` (the new worker answering) until every
    subscriber had the mail; fails after WAIT (60 s)."""
    wait_until(
        lambda: smtp_sink.unique() >= expected,
        timeout=WAIT,
        what="every subscriber mailed within 60 s of the new worker starting",
    )
    seconds = round(time.monotonic() - started, 1)
    wait_until(lambda: _delivered(change.pk), timeout=WAIT, what="every notification recorded")
    time.sleep(2)
    return seconds


def test_it_heals_itself_when_the_worker_is_killed_mid_fan_out(
    many_steps, celery_worker, celery_beat, smtp_sink, alice, us
):
    expected = 3000
    addresses, change = _mid_fan_out(smtp_sink, alice, us, expected, "kill")
    celery_worker.kill()
    received_at_kill = smtp_sink.unique()
    fan_out = ChangeFanOut.objects.get(pk=change.pk)
    claimed_at_kill = Notification.objects.filter(UNSENT, change=change, claimed_at__isnull=False).count()

    # No operator command: the new worker, beat's heal and the defaults do it all.
    celery_worker.start()
    recovered = _recovered(smtp_sink, change, expected, time.monotonic())

    duplicates = _duplicates(smtp_sink)
    fault_figures_record(
        "worker_sigkill",
        {
            "expected": expected,
            "received_unique": smtp_sink.unique(),
            "received_total": smtp_sink.count(),
            "duplicated": duplicates,
            "seconds_to_recover": recovered,
            "received_at_kill": received_at_kill,
            "claimed_unsent_at_kill": claimed_at_kill,
            "fan_out_complete_at_kill": fan_out.completed_at is not None,
            "worker_children": CeleryWorker.concurrency,
        },
    )
    recipients = {rcpt for rcpts, _ in smtp_sink.received for rcpt in rcpts}
    assert recipients == set(addresses)
    assert smtp_sink.unique() == expected
    # Only a message on the wire at the kill (one per worker child) can arrive twice.
    assert duplicates <= CeleryWorker.concurrency


def test_it_heals_itself_when_the_worker_is_killed_and_redis_flushed_mid_fan_out(
    many_steps, celery_worker, celery_beat, smtp_sink, alice, us
):
    expected = 3000
    addresses, change = _mid_fan_out(smtp_sink, alice, us, expected, "flush")
    celery_worker.kill()
    redis_flush()  # this test's Redis db only: every queued task is gone
    received_at_flush = smtp_sink.unique()
    fan_out = ChangeFanOut.objects.get(pk=change.pk)
    queued_after_flush = redis.Redis.from_url(settings.REDIS_URL).llen("celery")

    celery_worker.start()
    recovered = _recovered(smtp_sink, change, expected, time.monotonic())

    duplicates = _duplicates(smtp_sink)
    fault_figures_record(
        "worker_sigkill_redis_flushdb",
        {
            "expected": expected,
            "received_unique": smtp_sink.unique(),
            "received_total": smtp_sink.count(),
            "duplicated": duplicates,
            "seconds_to_recover": recovered,
            "received_at_flush": received_at_flush,
            "fan_out_complete_at_flush": fan_out.completed_at is not None,
            "tasks_in_redis_after_flush": queued_after_flush,
            "worker_children": CeleryWorker.concurrency,
        },
    )
    assert {rcpt for rcpts, _ in smtp_sink.received for rcpt in rcpts} == set(addresses)
    assert smtp_sink.unique() == expected
    assert duplicates <= CeleryWorker.concurrency


def test_a_worker_hung_past_its_heartbeat_loses_its_claims_and_sends_nothing_twice_when_it_wakes(
    many_steps, celery_worker, celery_beat, smtp_sink, alice, us
):
    expected = 3000
    addresses, change = _mid_fan_out(smtp_sink, alice, us, expected, "hang")
    # SIGSTOP: alive, holding its claims, silent.
    claimed_at_stop, stops = _paused_holding_claims(celery_worker, change)
    received_at_stop = smtp_sink.unique()

    second = celery_worker.another()
    try:
        second.start()
        recovered = _recovered(smtp_sink, change, expected, time.monotonic())
        before_wake = smtp_sink.count()
        celery_worker.resume()  # SIGCONT: its batches go on where they stopped
        time.sleep(10)
        sent_after_wake = smtp_sink.count() - before_wake
    finally:
        second.stop()

    duplicates = _duplicates(smtp_sink)
    reasserted = celery_worker.log_tail(10_000).count("their claims were released while the batch was running")
    fault_figures_record(
        "worker_sigstop",
        {
            "expected": expected,
            "received_unique": smtp_sink.unique(),
            "received_total": smtp_sink.count(),
            "duplicated": duplicates,
            "seconds_to_recover": recovered,
            "received_at_stop": received_at_stop,
            "claimed_unsent_at_stop": claimed_at_stop,
            "stops_until_a_batch_was_under_way": stops,
            "sent_by_the_woken_worker": sent_after_wake,
            "batches_that_reasserted_and_skipped": reasserted,
            "worker_children": CeleryWorker.concurrency,
        },
    )
    assert {rcpt for rcpts, _ in smtp_sink.received for rcpt in rcpts} == set(addresses)
    assert smtp_sink.unique() == expected
    # The woken worker re-asserted its claims before its next message, found
    # them gone and skipped them: at most the message each child had on the wire.
    assert reasserted >= 1
    assert sent_after_wake <= CeleryWorker.concurrency
    assert duplicates <= CeleryWorker.concurrency


def test_it_retries_a_451_on_every_7th_message_until_every_message_arrives_once(
    celery_worker, celery_beat, smtp_sink, alice, us
):
    expected = 3000
    addresses = _bulk_subscribers(expected, "busy")
    smtp_sink.refuse_every = 7

    started = time.monotonic()
    change = _publish(alice, jurisdiction=us).changes.get()
    wait_until(lambda: smtp_sink.unique() >= expected, timeout=WAIT * 2, what="every message")
    seconds = round(time.monotonic() - started, 1)
    wait_until(lambda: _delivered(change.pk), timeout=WAIT, what="every notification recorded")
    time.sleep(2)

    duplicates = _duplicates(smtp_sink)
    fault_figures_record(
        "smtp_451_every_7th",
        {
            "expected": expected,
            "answered_451": len(smtp_sink.refused),
            "received_unique": smtp_sink.unique(),
            "received_total": smtp_sink.count(),
            "duplicated": duplicates,
            "seconds_to_deliver_all": seconds,
        },
    )
    assert len(smtp_sink.refused) >= expected // 7
    assert {rcpt for rcpts, _ in smtp_sink.received for rcpt in rcpts} == set(addresses)
    assert smtp_sink.unique() == expected
    assert duplicates == 0
    retried = Notification.objects.filter(subscriber__email__in=set(smtp_sink.refused))
    assert all(n.attempts >= 2 and n.sent_at is not None for n in retried)


def test_it_stops_the_next_mail_after_a_one_click_unsubscribe(celery_worker, smtp_sink, alice, us):
    subscriber_with("jill@example.org")
    subscriber_with("kim@example.org")
    first = _publish(alice, jurisdiction=us, title="First").changes.get()
    wait_until(
        lambda: len(smtp_sink.to("jill@example.org")) == 1 and len(smtp_sink.to("kim@example.org")) == 1,
        timeout=WAIT,
        what="the first mails",
    )
    unsubscribe_url = smtp_sink.to("jill@example.org")[0]["List-Unsubscribe"].strip().strip("<>")

    # A mail provider's one-click request: a bare POST, no cookies, no CSRF token.
    response = Client(enforce_csrf_checks=True).post(
        unsubscribe_url.removeprefix(settings.SITE_URL),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    second = _publish(alice, jurisdiction=us, title="Second").changes.get()
    wait_until(lambda: len(smtp_sink.to("kim@example.org")) == 2, timeout=WAIT, what="the second mail to kim")
    wait_until(lambda: _delivered(second.pk), timeout=WAIT, what="every notification recorded")
    time.sleep(1)

    assert response.status_code == 200
    assert len(smtp_sink.to("jill@example.org")) == 1
    assert _delivered(first.pk)
