"""The editors' daily email of new candidates: opted in through the admin,
planned once per editor and day, sent through the delivery engine to a real
SMTP server (aiosmtpd on loopback), exactly once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from regulatory.editors import editor_create
from regulatory.models import DecisionKind
from tests.factories import UserFactory
from watch import mail
from watch.models import Candidate, CandidateMail, CandidateMailSubscription, CandidateState, WatchedSource

DAY_ONE = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)  # after WATCH_CANDIDATE_MAIL_AT (07:00)
DAY_TWO = DAY_ONE + dt.timedelta(days=1)


@pytest.fixture
def fda_feed(record):
    return WatchedSource.objects.create(
        name="FDA press releases",
        adapter="feed",
        jurisdiction=record["us"],
        regulator=record["fda"],
        url="https://www.fda.gov/rss.xml",
    )


@pytest.fixture
def carol(db):
    """A second editor."""
    user, _ = editor_create(username="carol", email="carol@example.org")
    return user


def _candidate(source, record, title: str) -> Candidate:
    url = f"https://www.fda.gov/news/{title.lower().replace(' ', '-')}"
    candidate = Candidate.objects.create(
        source=source,
        url=url,
        url_key=url,
        key=f"url:{url}",
        title=title,
        published_on=dt.date(2026, 11, 30),
        excerpt="The agency accepted the resubmission.",
        suggested_kind=DecisionKind.ACCEPTANCE,
        jurisdiction=record["us"],
    )
    candidate.therapies.set([record["mdma-ptsd"]])
    return candidate


def _run_and_send(now: dt.datetime) -> list[int]:
    """One beat run, and every batch it queued sent (as the worker would);
    returns the ids left for a retry."""
    retry: list[int] = []
    for batch in mail.candidate_mail_run(now=now).batches:
        retry += mail.candidate_mail_batch_send(mail_ids=batch)
    return retry


def test_it_sends_one_email_per_opted_in_editor_when_run_twice(alice, carol, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    mail.candidate_mail_opt_in(user=carol)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)
        _candidate(fda_feed, record, "A later item the same day")
        _run_and_send(DAY_ONE + dt.timedelta(hours=1))

    assert len(smtp_sink.to("alice@example.org")) == 1
    assert len(smtp_sink.to("carol@example.org")) == 1
    assert smtp_sink.count() == 2
    assert set(smtp_sink.message_id_counts().values()) == {1}
    assert CandidateMail.objects.filter(sent_at__isnull=False).count() == 2


def test_the_email_lists_the_candidates_with_absolute_admin_links_in_both_parts(
    alice, record, fda_feed, smtp_sink, settings
):
    mail.candidate_mail_opt_in(user=alice)
    candidate = _candidate(fda_feed, record, "FDA <accepts> & reviews")

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)

    (message,) = smtp_sink.to("alice@example.org")
    row = CandidateMail.objects.get()
    assert message["Subject"] == "1 new candidate to review (2 Dec 2026)"
    assert message["Message-ID"] == f"<candidates-{row.pk}@127.0.0.1>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    admin_url = f"{settings.SITE_URL}/admin/watch/candidate/{candidate.pk}/change/"
    assert "FDA <accepts> & reviews" in text and admin_url in text
    assert "FDA &lt;accepts&gt; &amp; reviews" in html and "<accepts>" not in html and admin_url in html
    assert f"{settings.SITE_URL}/admin/watch/candidate/daily-email/" in text


def test_an_opted_out_editor_gets_nothing(alice, carol, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    mail.candidate_mail_opt_in(user=carol)
    mail.candidate_mail_opt_out(user=carol)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)

    assert smtp_sink.to("carol@example.org") == []
    assert len(smtp_sink.to("alice@example.org")) == 1


def test_an_editor_opting_out_after_the_plan_gets_nothing(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    with time_machine.travel(DAY_ONE, tick=False):
        (batch,) = mail.candidate_mail_run(now=DAY_ONE).batches
        mail.candidate_mail_opt_out(user=alice)
        assert mail.candidate_mail_batch_send(mail_ids=batch) == []

    assert smtp_sink.count() == 0
    assert CandidateMail.objects.get().skipped_at is not None


def test_an_empty_day_sends_nothing_and_moves_on(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)
        _run_and_send(DAY_ONE + dt.timedelta(minutes=30))

    assert smtp_sink.count() == 0
    (row,) = CandidateMail.objects.all()
    assert row.skipped_at is not None and row.sent_at is None and row.candidate_count == 0

    candidate = _candidate(fda_feed, record, "An item on day two")
    with time_machine.travel(DAY_TWO, tick=False):
        _run_and_send(DAY_TWO)

    (message,) = smtp_sink.to("alice@example.org")
    assert candidate.title in message.get_body(("plain",)).get_content()
    assert CandidateMailSubscription.objects.get(user=alice).last_candidate_id == candidate.pk


def test_a_day_whose_candidates_were_all_reviewed_before_the_send_sends_nothing(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    candidate = _candidate(fda_feed, record, "Dismissed before the email went")
    with time_machine.travel(DAY_ONE, tick=False):
        (batch,) = mail.candidate_mail_run(now=DAY_ONE).batches
        Candidate.objects.filter(pk=candidate.pk).update(state=CandidateState.DISMISSED, dismiss_reason="Old news")
        mail.candidate_mail_batch_send(mail_ids=batch)

    assert smtp_sink.count() == 0
    assert CandidateMail.objects.get().skipped_at is not None
    assert CandidateMailSubscription.objects.get(user=alice).last_candidate_id == candidate.pk


def test_a_transient_451_is_retried_and_delivered_once(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    smtp_sink.refuse_once.add("alice@example.org")

    with time_machine.travel(DAY_ONE, tick=False):
        retry = _run_and_send(DAY_ONE)
        row = CandidateMail.objects.get()
        assert retry == [row.pk] and smtp_sink.count() == 0
        assert CandidateMailSubscription.objects.get(user=alice).last_candidate_id == 0
        assert mail.candidate_mail_batch_send(mail_ids=retry) == []  # the task's retry
        assert mail.candidate_mail_batch_send(mail_ids=retry) == []  # a duplicate of it

    assert smtp_sink.refused == ["alice@example.org"]
    assert len(smtp_sink.to("alice@example.org")) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == ""


def test_a_permanent_refusal_is_recorded_and_not_retried(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    smtp_sink.refuse_always["alice@example.org"] = "550 5.1.1 No such mailbox"

    with time_machine.travel(DAY_ONE, tick=False):
        assert _run_and_send(DAY_ONE) == []

    row = CandidateMail.objects.get()
    assert row.failed_at is not None and "550" in row.last_error
    assert CandidateMailSubscription.objects.get(user=alice).last_candidate_id == 0


def test_the_watermark_excludes_candidates_already_mailed(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    first = _candidate(fda_feed, record, "The first item")
    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)
    second = _candidate(fda_feed, record, "The second item")
    with time_machine.travel(DAY_TWO, tick=False):
        _run_and_send(DAY_TWO)

    day_one, day_two = (m.get_body(("plain",)).get_content() for m in smtp_sink.to("alice@example.org"))
    assert first.title in day_one and second.title not in day_one
    assert second.title in day_two and first.title not in day_two
    assert CandidateMailSubscription.objects.get(user=alice).last_candidate_id == second.pk


def test_opting_in_starts_after_the_backlog(alice, record, fda_feed, smtp_sink):
    _candidate(fda_feed, record, "Found before alice opted in")
    mail.candidate_mail_opt_in(user=alice)

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)

    assert smtp_sink.count() == 0


def test_nothing_is_planned_before_the_time_of_day(alice, record, fda_feed, settings):
    mail.candidate_mail_opt_in(user=alice)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    early = DAY_ONE.replace(hour=6, minute=59)

    with time_machine.travel(early, tick=False):
        assert mail.candidate_mail_run(now=early).batches == []

    assert not CandidateMail.objects.exists()


def test_the_repair_queues_again_what_the_broker_lost_and_releases_dead_claims(
    alice, carol, record, fda_feed, settings, smtp_sink
):
    settings.WATCH_CANDIDATE_MAIL_STALE = 300
    mail.candidate_mail_opt_in(user=alice)
    mail.candidate_mail_opt_in(user=carol)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    with time_machine.travel(DAY_ONE, tick=False):
        planned = mail.candidate_mail_run(now=DAY_ONE).planned  # the tasks are lost
        assert len(planned) == 2
        # A worker claimed carol's row and died.
        CandidateMail.objects.filter(user=carol).update(claimed_at=DAY_ONE, claim_token="1" * 32, attempts=1)

    soon = DAY_ONE + dt.timedelta(minutes=2)
    with time_machine.travel(soon, tick=False):
        assert mail.candidate_mail_run(now=soon).requeued == []  # not a few minutes old yet
    later = DAY_ONE + dt.timedelta(seconds=settings.TRACKER_CLAIM_TIMEOUT + 60)
    with time_machine.travel(later, tick=False):
        run = mail.candidate_mail_run(now=later)
        assert run.claims_released == 1 and run.planned == []
        assert sorted(run.requeued) == sorted(planned)
        for batch in run.batches:
            mail.candidate_mail_batch_send(mail_ids=batch)

    assert len(smtp_sink.to("alice@example.org")) == 1 and len(smtp_sink.to("carol@example.org")) == 1


def test_the_repair_releases_a_dead_workers_claim_and_leaves_a_live_ones(alice, carol, record, fda_feed):
    from django.utils import timezone

    from tracker.models import WorkerHeartbeat

    mail.candidate_mail_opt_in(user=alice)
    mail.candidate_mail_opt_in(user=carol)
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")
    # Heartbeats are judged by the database's clock: real time here, not travelled.
    now = timezone.now()
    mail.candidate_mail_plan(now=now)
    dead = WorkerHeartbeat.objects.create(id=uuid.uuid4(), name="host:1", beat_at=now - dt.timedelta(minutes=5))
    live = WorkerHeartbeat.objects.create(id=uuid.uuid4(), name="host:2", beat_at=now)
    a_while_ago = now - dt.timedelta(seconds=30)
    CandidateMail.objects.filter(user=alice).update(
        claimed_at=a_while_ago, claim_token=uuid.uuid4(), claimed_by=dead.pk, attempts=1
    )
    CandidateMail.objects.filter(user=carol).update(
        claimed_at=a_while_ago, claim_token=uuid.uuid4(), claimed_by=live.pk, attempts=1
    )

    run = mail.candidate_mail_repair(now=now)

    assert run.claims_released == 1
    assert CandidateMail.objects.get(user=alice).claimed_at is None
    assert CandidateMail.objects.get(user=carol).claimed_by == live.pk


@pytest.mark.parametrize("editors", [1, 3])
def test_planning_takes_the_same_queries_however_many_editors(editors, record, fda_feed, django_assert_num_queries):
    for n in range(editors):
        mail.candidate_mail_opt_in(user=editor_create(username=f"editor{n}", email=f"editor{n}@example.org")[0])
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")

    # One pass over the opt-ins, never a query per editor.
    with django_assert_num_queries(8):
        planned = mail.candidate_mail_plan(now=DAY_ONE)

    assert len(planned) == editors


def test_a_non_editor_cannot_opt_in(db, bob):
    staff = UserFactory(username="erin", email="erin@example.org", is_staff=True)
    with pytest.raises(PermissionDenied):
        mail.candidate_mail_opt_in(user=staff)
    with pytest.raises(PermissionDenied):
        mail.candidate_mail_opt_in(user=bob)
    assert not CandidateMailSubscription.objects.exists()


def test_an_editor_who_left_the_group_gets_nothing(alice, record, fda_feed, smtp_sink):
    mail.candidate_mail_opt_in(user=alice)
    alice.groups.remove(Group.objects.get(name="Editors"))
    _candidate(fda_feed, record, "FDA accepts application for midomafetamine")

    with time_machine.travel(DAY_ONE, tick=False):
        _run_and_send(DAY_ONE)

    assert smtp_sink.count() == 0 and not CandidateMail.objects.exists()


# --- The admin page -----------------------------------------------------------------------


def test_the_queue_links_to_the_daily_email_page(client, alice):
    client.force_login(alice)

    page = client.get("/admin/watch/candidate/").content.decode()

    assert 'href="/admin/watch/candidate/daily-email/"' in page and "Email me new candidates daily" in page


def test_an_editor_opts_in_and_out_on_the_page(client, alice):
    client.force_login(alice)

    assert "Email me new candidates daily" in client.get("/admin/watch/candidate/daily-email/").content.decode()
    response = client.post("/admin/watch/candidate/daily-email/", {"action": "subscribe"})
    assert response.status_code == 302 and CandidateMailSubscription.objects.filter(user=alice).exists()
    assert "Stop the daily email" in client.get("/admin/watch/candidate/daily-email/").content.decode()
    client.post("/admin/watch/candidate/daily-email/", {"action": "unsubscribe"})
    assert not CandidateMailSubscription.objects.exists()


def test_the_page_refuses_an_unknown_action_naming_the_field(client, alice):
    client.force_login(alice)

    response = client.post("/admin/watch/candidate/daily-email/", {"action": "maybe"})

    assert response.status_code == 400 and "action" in response.content.decode()
    assert not CandidateMailSubscription.objects.exists()


def test_the_page_says_an_editor_without_an_address_must_add_one(client, db):
    user, _ = editor_create(username="frank")
    client.force_login(user)

    response = client.post("/admin/watch/candidate/daily-email/", {"action": "subscribe"})

    assert response.status_code == 400 and "no email address" in response.content.decode()
    assert not CandidateMailSubscription.objects.exists()


def test_a_staff_user_who_is_not_an_editor_cannot_use_the_page(client, db):
    staff = UserFactory(username="erin", email="erin@example.org", is_staff=True)
    client.force_login(staff)

    assert client.post("/admin/watch/candidate/daily-email/", {"action": "subscribe"}).status_code == 403
    assert not CandidateMailSubscription.objects.exists()


def test_beat_runs_the_candidate_mail_job(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["watch-candidate-mail"]
    assert entry["task"] == "watch.tasks.candidate_mail_run"
    assert entry["schedule"] == float(settings.WATCH_CANDIDATE_MAIL_EVERY)
