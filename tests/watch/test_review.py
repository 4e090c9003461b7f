"""The review queue in the admin: newest first, "Create draft", "Dismiss"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from regulatory.models import Decision, DecisionKind, DecisionState, SourceGrade
from regulatory.services import decision_publish
from watch.models import Candidate, CandidateState, WatchedSource


@pytest.fixture
def fda_feed(record):
    return WatchedSource.objects.create(
        name="FDA press releases",
        adapter="feed",
        jurisdiction=record["us"],
        regulator=record["fda"],
        url="https://www.fda.gov/rss.xml",
    )


def _candidate(source, record, *, title="FDA accepts application for midomafetamine", days_ago=0, **kwargs):
    url = kwargs.pop("url", f"https://www.fda.gov/news/{title.lower().replace(' ', '-')}")
    candidate = Candidate.objects.create(
        source=source,
        url=url,
        url_key=url,
        key=f"url:{url}",
        title=title,
        published_on=dt.date(2026, 10, 20),
        excerpt=kwargs.pop("excerpt", "The agency accepted the resubmission for priority review."),
        suggested_kind=DecisionKind.ACCEPTANCE,
        jurisdiction=kwargs.pop("jurisdiction", record["us"]),
        found_at=timezone.now() - dt.timedelta(days=days_ago),
        **kwargs,
    )
    candidate.therapies.set([record["mdma-ptsd"]])
    return candidate


def test_the_queue_lists_candidates_newest_first_with_their_excerpt(client, alice, record, fda_feed):
    _candidate(fda_feed, record, title="Older item", days_ago=3, excerpt="An older excerpt.")
    _candidate(fda_feed, record, title="Newer item", days_ago=1, excerpt="A newer excerpt.")
    client.force_login(alice)

    page = client.get("/admin/watch/candidate/").content.decode()

    assert page.index("Newer item") < page.index("Older item")
    assert "A newer excerpt." in page and "Create draft" in page and "Dismiss" in page


def test_create_draft_makes_a_draft_decision_citing_the_candidate(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    client.force_login(alice)

    response = client.post(f"/admin/watch/candidate/{candidate.pk}/create-draft/")

    decision = Decision.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/regulatory/decision/{decision.pk}/change/"
    assert decision.state == DecisionState.DRAFT and decision.changes.count() == 0
    assert decision.jurisdiction == record["us"] and decision.regulator == record["fda"]
    assert decision.kind == DecisionKind.ACCEPTANCE and decision.announced_on == dt.date(2026, 10, 20)
    assert [t.slug for t in decision.therapies.all()] == ["mdma-ptsd"]
    (source,) = decision.sources.all()
    assert source.url == candidate.url and source.grade == SourceGrade.OFFICIAL
    assert source.publisher == "US Food and Drug Administration"
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.DRAFTED and candidate.draft == decision
    assert candidate.decided_by == alice and candidate.decided_at is not None
    # The editor completes and publishes it through the usual lifecycle.
    decision_publish(decision=decision, by=alice)
    assert Decision.objects.get().state == DecisionState.PUBLISHED


def test_create_draft_only_answers_a_post(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    client.force_login(alice)

    assert client.get(f"/admin/watch/candidate/{candidate.pk}/create-draft/").status_code == 405
    assert not Decision.objects.exists()


def test_a_candidate_is_drafted_once(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    client.force_login(alice)
    client.post(f"/admin/watch/candidate/{candidate.pk}/create-draft/")

    response = client.post(f"/admin/watch/candidate/{candidate.pk}/create-draft/", follow=True)

    assert response.status_code == 403 or "already" in response.content.decode()
    assert Decision.objects.count() == 1


def test_a_candidate_without_a_jurisdiction_asks_for_one(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record, jurisdiction=None)
    client.force_login(alice)

    response = client.post(f"/admin/watch/candidate/{candidate.pk}/create-draft/", follow=True)

    assert "Choose the candidate&#x27;s jurisdiction before creating a draft." in response.content.decode()
    assert not Decision.objects.exists()
    assert Candidate.objects.get().state == CandidateState.NEW


def test_dismiss_records_the_reason_who_and_when(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    client.force_login(alice)

    assert client.get(f"/admin/watch/candidate/{candidate.pk}/dismiss/").status_code == 200
    response = client.post(
        f"/admin/watch/candidate/{candidate.pk}/dismiss/", {"reason": "A conference announcement, not a decision."}
    )

    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.DISMISSED
    assert candidate.dismiss_reason == "A conference announcement, not a decision."
    assert candidate.decided_by == alice and candidate.decided_at is not None


def test_dismiss_without_a_reason_is_refused_and_changes_nothing(client, alice, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    client.force_login(alice)

    response = client.post(f"/admin/watch/candidate/{candidate.pk}/dismiss/", {"reason": "  "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Candidate.objects.get().state == CandidateState.NEW


def test_someone_who_is_not_an_editor_cannot_review(client, bob, record, fda_feed):
    candidate = _candidate(fda_feed, record)
    bob.is_staff = True
    bob.save()
    client.force_login(bob)

    response = client.post(f"/admin/watch/candidate/{candidate.pk}/create-draft/")

    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_the_sources_admin_flags_a_source_failing_for_a_day(client, alice, record, fda_feed):
    WatchedSource.objects.filter(pk=fda_feed.pk).update(
        failing_since=timezone.now() - dt.timedelta(hours=30), consecutive_failures=6, last_error="HTTP 503"
    )
    client.force_login(alice)

    page = client.get("/admin/watch/watchedsource/?health=flagged").content.decode()

    assert "FLAGGED: failing since" in page and "HTTP 503" in page


def test_poll_now_in_the_admin_reports_each_source(client, alice, server, record):
    from tests.watch.conftest import Reply, fixture_bytes

    server.routes["/en/news.xml"] = Reply(
        body=fixture_bytes("ema_news.xml"), headers={"Content-Type": "application/rss+xml"}
    )
    server.routes["/down.xml"] = Reply(404, b"", {})
    ema = WatchedSource.objects.create(
        name="EMA news", adapter="feed", url=server.url("/en/news.xml"), jurisdiction=record["eu"]
    )
    down = WatchedSource.objects.create(name="Down", adapter="feed", url=server.url("/down.xml"))
    client.force_login(alice)

    response = client.post(
        "/admin/watch/watchedsource/", {"action": "poll_now", "_selected_action": [ema.pk, down.pk]}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "EMA news: 2 item(s), 1 new candidate(s)" in page
    assert "Down: ERROR HTTP 404 from 127.0.0.1" in page
