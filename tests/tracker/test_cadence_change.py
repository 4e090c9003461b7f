"""Changing a subscription's cadence on the manage page: what the old cadence
had not mailed yet is mailed once, never lost and never twice."""

from __future__ import annotations

import pytest
from django.core import mail

from regulatory.models import Change
from tests.factories import JurisdictionFactory, published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery, services
from tracker.models import UNSENT, Cadence, Notification, Subscriber

pytestmark = pytest.mark.django_db

TITLES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")


@pytest.fixture
def us(db):
    return JurisdictionFactory(code="us", name="United States")


@pytest.fixture
def au(db):
    return JurisdictionFactory(code="au", name="Australia")


def _publish(title: str, jurisdiction) -> int:
    return published_decision(jurisdiction=jurisdiction, title=title).changes.get().pk


def _digest(cadence: str) -> None:
    ids = delivery.digest_plan(cadence=cadence)
    if ids:
        delivery.digest_batch_send(delivery_ids=ids)


def _instant() -> None:
    """What the workers do for instant mail: every fan-out, then every unsent row."""
    for change_id in Change.objects.order_by("pk").values_list("pk", flat=True):
        while delivery.change_fan_out(change_id=change_id).more:
            pass
    ids = list(Notification.objects.filter(UNSENT, claimed_at__isnull=True).values_list("pk", flat=True))
    delivery.notification_batch_send(notification_ids=ids)


def _switch(subscriber: Subscriber, old: str, new: str, jurisdictions=()) -> None:
    services.subscription_update(
        subscription=subscriber.subscriptions.get(cadence=old),
        scope=services.Scope(cadence=new, jurisdictions=tuple(jurisdictions)),
    )


def _times_mailed() -> dict[str, int]:
    """How many emails mention each change (by its decision's title)."""
    return {
        title: sum(title in message.body for message in mail.outbox)
        for title in TITLES
        if any(title in message.body for message in mail.outbox)
    }


def test_it_mails_what_the_daily_digest_owed_when_switching_to_instant(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    _publish("Alpha", us)
    _digest(Cadence.DAILY)
    for title in ("Bravo", "Charlie", "Delta"):
        _publish(title, us)

    _switch(carol, Cadence.DAILY, Cadence.INSTANT, [us])
    _instant()
    _digest(Cadence.DAILY)
    _publish("Echo", us)
    _instant()

    assert _times_mailed() == {"Alpha": 1, "Bravo": 1, "Charlie": 1, "Delta": 1, "Echo": 1}


def test_it_queues_the_owed_notifications_after_commit(us, queued, django_capture_on_commit_callbacks):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    owed = [_publish(title, us) for title in ("Alpha", "Bravo")]

    with django_capture_on_commit_callbacks(execute=True):
        _switch(carol, Cadence.DAILY, Cadence.INSTANT, [us])

    rows = list(Notification.objects.order_by("pk"))
    assert [row.change_id for row in rows] == owed
    assert queued == [("tracker.tasks.notification_send_batch", ([row.pk for row in rows],))]


def test_it_carries_what_the_daily_digest_owed_into_the_weekly_one(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    _publish("Alpha", us)
    _digest(Cadence.DAILY)
    _publish("Bravo", us)
    _publish("Charlie", us)

    _switch(carol, Cadence.DAILY, Cadence.WEEKLY, [us])
    _digest(Cadence.DAILY)
    _digest(Cadence.WEEKLY)
    _publish("Delta", us)
    _digest(Cadence.WEEKLY)

    weekly = [m for m in mail.outbox if m.subject.startswith("Weekly digest")]
    assert _times_mailed() == {"Alpha": 1, "Bravo": 1, "Charlie": 1, "Delta": 1}
    assert "Bravo" in weekly[0].body and "Charlie" in weekly[0].body


def test_it_does_not_resend_instant_mail_in_the_digest_switched_to(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.INSTANT, jurisdictions=[us])
    _publish("Alpha", us)
    _instant()

    _switch(carol, Cadence.INSTANT, Cadence.DAILY, [us])
    _digest(Cadence.DAILY)
    _publish("Bravo", us)
    _digest(Cadence.DAILY)

    assert _times_mailed() == {"Alpha": 1, "Bravo": 1}


def test_it_mails_a_change_whose_fan_out_had_not_reached_the_subscriber_when_switching_to_a_digest(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.INSTANT, jurisdictions=[us])
    _publish("Alpha", us)  # recorded, its fan-out still queued

    _switch(carol, Cadence.INSTANT, Cadence.DAILY, [us])
    _instant()
    _digest(Cadence.DAILY)

    assert _times_mailed() == {"Alpha": 1}


def test_it_mails_at_once_what_a_digest_the_new_cadence_has_passed_would_lose(us, au):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    subscriber_with("carol@example.org", cadence=Cadence.WEEKLY, jurisdictions=[au])
    _publish("Alpha", us)
    _digest(Cadence.DAILY)
    _publish("Bravo", us)
    _publish("Charlie", au)
    _digest(Cadence.WEEKLY)  # the weekly watermark is now past Bravo

    _switch(carol, Cadence.DAILY, Cadence.WEEKLY, [us])
    _instant()
    _publish("Delta", us)
    _digest(Cadence.WEEKLY)

    assert _times_mailed() == {"Alpha": 1, "Bravo": 1, "Charlie": 1, "Delta": 1}


def test_it_does_not_mail_again_what_the_new_cadence_already_sent(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    subscriber_with("carol@example.org", cadence=Cadence.WEEKLY)  # everything, weekly
    _publish("Alpha", us)
    _digest(Cadence.DAILY)
    _publish("Bravo", us)
    _digest(Cadence.WEEKLY)  # Alpha and Bravo

    _switch(carol, Cadence.DAILY, Cadence.WEEKLY, [us])
    _instant()
    _digest(Cadence.WEEKLY)

    assert _times_mailed() == {"Alpha": 2, "Bravo": 1}  # Alpha: once daily, once in the weekly-for-everything
    assert not Notification.objects.exists()
