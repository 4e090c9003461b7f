"""Daily and weekly digests: content, watermark, empty digests, query count."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.management import call_command

from regulatory.services import decision_publish
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery, selectors, services
from tracker.models import Cadence, DigestDelivery, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def us(db):
    return JurisdictionFactory(code="us", name="United States", position=1)


@pytest.fixture
def au(db):
    return JurisdictionFactory(code="au", name="Australia", position=2)


def _run(cadence: str = Cadence.DAILY) -> list[int]:
    ids = delivery.digest_plan(cadence=cadence)
    return delivery.digest_batch_send(delivery_ids=ids) if ids else []


def test_it_sends_one_digest_per_subscriber_with_changes(us, au):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    subscriber_with("dave@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    published_decision(jurisdiction=us, title="First")
    published_decision(jurisdiction=us, title="Second")

    _run()

    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert "2 changes" in mail.outbox[0].subject
    assert "First" in mail.outbox[0].body and "Second" in mail.outbox[0].body


def test_it_sends_nothing_on_a_second_run(us):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)
    _run()

    _run()

    assert len(mail.outbox) == 1


def test_it_moves_the_watermark_after_a_successful_send(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    change = published_decision(jurisdiction=us).changes.get()

    _run()

    carol.refresh_from_db()
    assert carol.daily_watermark == change.pk
    assert carol.weekly_watermark == 0
    assert DigestDelivery.objects.get().sent_at is not None


def test_it_keeps_the_watermark_when_the_send_fails(us, scripted_mail):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)
    scripted_mail.failures["carol@example.org"] = [smtplib.SMTPServerDisconnected("gone")]

    retry = _run()

    carol.refresh_from_db()
    assert carol.daily_watermark == 0
    assert retry == [DigestDelivery.objects.get().pk]


def test_it_resends_a_failed_digest_with_the_changes_that_came_since(us, scripted_mail):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us, title="Before the outage")
    scripted_mail.failures["carol@example.org"] = [smtplib.SMTPServerDisconnected("gone")]
    _run()
    later = published_decision(jurisdiction=us, title="During the outage").changes.get()

    _run()

    carol.refresh_from_db()
    assert len(scripted_mail.sent) == 1
    assert "Before the outage" in scripted_mail.sent[0].body and "During the outage" in scripted_mail.sent[0].body
    assert carol.daily_watermark == later.pk
    assert DigestDelivery.objects.count() == 1


def test_it_skips_empty_digests(us, au):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    published_decision(jurisdiction=us)

    ids = delivery.digest_plan(cadence=Cadence.DAILY)

    assert ids == []
    assert DigestDelivery.objects.count() == 0
    assert mail.outbox == []


def test_it_never_sends_history_from_before_the_subscription(us):
    published_decision(jurisdiction=us)
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)

    _run()

    assert mail.outbox == []


def test_it_never_sends_dataset_imports(us):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    decision_publish(decision=DecisionFactory(jurisdiction=us), is_import=True)

    _run()

    assert mail.outbox == []


def test_it_keeps_daily_and_weekly_apart(us):
    subscriber_with("carol@example.org", cadence=Cadence.WEEKLY)
    published_decision(jurisdiction=us)

    _run(Cadence.DAILY)
    _run(Cadence.WEEKLY)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Weekly digest")


def test_it_does_not_send_a_digest_planned_for_a_subscriber_who_left(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)
    ids = delivery.digest_plan(cadence=Cadence.DAILY)

    services.subscriber_unsubscribe(subscriber=carol)
    delivery.digest_batch_send(delivery_ids=ids)

    assert mail.outbox == []
    assert DigestDelivery.objects.get().cancelled_at is not None


def test_it_groups_changes_by_jurisdiction_and_therapy(us, au):
    mdma = TherapyFactory(slug="mdma-ptsd", name="MDMA for PTSD", position=1)
    psilocybin = TherapyFactory(slug="psilocybin-trd", name="Psilocybin for TRD", position=2)
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=au, therapies=[mdma], title="AU MDMA")
    published_decision(jurisdiction=us, therapies=[psilocybin], title="US psilocybin")
    published_decision(jurisdiction=us, therapies=[mdma], title="US MDMA")

    _run()

    body = mail.outbox[0].body
    headings = [line for line in body.splitlines() if line.startswith("== ")]
    assert headings == [
        "== United States · MDMA for PTSD ==",
        "== United States · Psilocybin for TRD ==",
        "== Australia · MDMA for PTSD ==",
    ]


def test_it_builds_a_chunk_in_a_constant_number_of_queries(us, au, django_assert_num_queries):
    mdma = TherapyFactory(slug="mdma-ptsd")
    few = [subscriber_with(f"few{i}@example.org", cadence=Cadence.DAILY, jurisdictions=[us]) for i in range(2)]
    many = [
        subscriber_with(f"many{i}@example.org", cadence=Cadence.DAILY, therapies=[mdma], kinds=["approval"])
        for i in range(25)
    ]
    subscriber_with("many0@example.org", cadence=Cadence.DAILY, jurisdictions=[au])  # a second subscription
    for jurisdiction in (us, au, us):
        published_decision(jurisdiction=jurisdiction, therapies=[mdma])
    upto = selectors.change_latest_id()

    with django_assert_num_queries(9):
        small = selectors.digest_build(cadence=Cadence.DAILY, bounds={s.pk: (0, upto) for s in few})
    with django_assert_num_queries(9):
        large = selectors.digest_build(cadence=Cadence.DAILY, bounds={s.pk: (0, upto) for s in many})

    assert len(small) == 2 and len(large) == 25
    assert all(len(changes) == 3 for changes in large.values())


def test_it_plans_one_delivery_per_subscriber_and_watermark(us):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)

    first = delivery.digest_plan(cadence=Cadence.DAILY)
    second = delivery.digest_plan(cadence=Cadence.DAILY)

    assert first == second
    assert DigestDelivery.objects.count() == 1


def test_it_labels_the_period(us):
    subscriber_with("carol@example.org", cadence=Cadence.WEEKLY)
    published_decision(jurisdiction=us)

    delivery.digest_plan(cadence=Cadence.WEEKLY, now=dt.datetime(2025, 1, 1, 7, tzinfo=dt.UTC))

    assert DigestDelivery.objects.get().period == "2025-W01"


def test_it_sends_digests_from_the_command_line(us, capsys):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)

    call_command("send_digests", "daily")
    first = capsys.readouterr().out
    call_command("send_digests", "daily")
    second = capsys.readouterr().out

    assert len(mail.outbox) == 1
    assert "Sent 1 daily digest(s); 0 failed, 0 left to retry." in first
    assert "Sent 0 daily digest(s)" in second
    assert Subscriber.objects.get().daily_watermark > 0


def test_it_gives_digests_the_list_headers_and_their_own_message_id(us):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)

    _run()

    message = mail.outbox[0].message()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == f"<digest-{DigestDelivery.objects.get().pk}@127.0.0.1>"
    assert message["Auto-Submitted"] == "auto-generated"


# --- Empty digests move the watermark ------------------------------------------------


def test_it_moves_the_watermark_past_changes_an_empty_digest_did_not_match(us, au):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    change = published_decision(jurisdiction=us).changes.get()

    ids = delivery.digest_plan(cadence=Cadence.DAILY)

    carol.refresh_from_db()
    assert ids == [] and mail.outbox == []
    assert carol.daily_watermark == change.pk
    assert carol.weekly_watermark == 0


def test_it_does_not_read_the_same_changes_again_for_a_scope_that_never_matches(us, au, monkeypatch):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    published_decision(jurisdiction=us)
    delivery.digest_plan(cadence=Cadence.DAILY)
    asked: list[dict] = []
    build = selectors.digest_build
    monkeypatch.setattr(selectors, "digest_build", lambda **kw: asked.append(kw["bounds"]) or build(**kw))

    delivery.digest_plan(cadence=Cadence.DAILY)

    assert all(carol.pk not in bounds for bounds in asked)


def test_it_sends_a_matching_change_that_comes_after_an_empty_digest(us, au):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    published_decision(jurisdiction=us, title="Elsewhere")
    _run()
    published_decision(jurisdiction=au, title="Here")

    _run()

    assert len(mail.outbox) == 1
    assert "Here" in mail.outbox[0].body and "Elsewhere" not in mail.outbox[0].body


def test_it_keeps_the_watermark_below_a_matching_change_until_its_digest_is_sent(us, au):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[au])
    subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    published_decision(jurisdiction=us)

    ids = delivery.digest_plan(cadence=Cadence.DAILY)

    carol.refresh_from_db()
    assert len(ids) == 1
    assert carol.daily_watermark == 0


def test_it_drops_an_unsent_digest_that_became_empty_when_the_watermark_moves(us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])
    published_decision(jurisdiction=us)
    delivery.digest_plan(cadence=Cadence.DAILY)
    carol.subscriptions.get().delete()
    subscriber_with("carol@example.org", cadence=Cadence.DAILY, kinds=["refusal"])

    delivery.digest_plan(cadence=Cadence.DAILY)

    carol.refresh_from_db()
    assert not DigestDelivery.objects.exists()
    assert carol.daily_watermark == selectors.change_latest_id()


def test_it_hands_over_each_planned_chunk_as_soon_as_it_is_written(us, settings):
    settings.TRACKER_FAN_OUT_CHUNK = 2
    for n in range(5):
        subscriber_with(f"s{n}@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)
    handed: list[list[int]] = []

    def on_chunk(ids: list[int]) -> None:
        # Written and visible before the next chunk is planned.
        assert DigestDelivery.objects.filter(pk__in=ids, sent_at__isnull=True).count() == len(ids)
        handed.append(ids)

    planned = delivery.digest_plan(cadence=Cadence.DAILY, on_chunk=on_chunk)

    assert [len(ids) for ids in handed] == [2, 2, 1]
    assert [pk for ids in handed for pk in ids] == planned
    assert len(set(planned)) == 5


def test_beat_queues_digest_batches_chunk_by_chunk(us, settings, monkeypatch):
    from tracker import tasks

    settings.TRACKER_FAN_OUT_CHUNK, settings.TRACKER_SEND_BATCH = 2, 1
    for n in range(3):
        subscriber_with(f"s{n}@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.digest_batch_send, "delay", queued.append)

    tasks.digest_plan("daily")

    assert len(queued) == 3 and all(len(batch) == 1 for batch in queued)
    assert sorted(pk for batch in queued for pk in batch) == sorted(DigestDelivery.objects.values_list("pk", flat=True))


def test_beat_plans_every_digest_even_when_the_broker_fails_mid_planning(us, settings, monkeypatch):
    from kombu.exceptions import OperationalError

    from tracker import tasks

    settings.TRACKER_FAN_OUT_CHUNK, settings.TRACKER_SEND_BATCH = 2, 1
    for n in range(5):
        subscriber_with(f"s{n}@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=us)

    def broker_down(batch):
        raise OperationalError("Redis is down")

    monkeypatch.setattr(tasks.digest_batch_send, "delay", broker_down)

    tasks.digest_plan("daily")

    # Every digest is planned; the sweeper queues them once the broker is back.
    assert DigestDelivery.objects.filter(sent_at__isnull=True).count() == 5
