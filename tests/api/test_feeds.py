"""/feeds/decisions.atom and /feeds/upcoming.ics, read by real parsers."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
import time_machine
from django.test import override_settings
from icalendar import Calendar

from regulatory.models import DecisionKind, Precision
from regulatory.services import decision_retract, decision_update
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site_url")]
ATOM = "/feeds/decisions.atom"
ICS = "/feeds/upcoming.ics"
SITE = "https://tracker.example.org"


@pytest.fixture
def site_url():
    with override_settings(SITE_URL=SITE):
        yield


def _atom(client, **params) -> feedparser.FeedParserDict:
    response = client.get(ATOM, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    return feedparser.parse(response.content)


def _at(day: int) -> time_machine.travel:
    return time_machine.travel(dt.datetime(2024, 9, day, 12, tzinfo=dt.UTC), tick=False)


# --- Atom ---------------------------------------------------------------------------


def test_it_serves_a_well_formed_atom_feed(anon_client):
    published_decision(title="Complete response letter")

    feed = _atom(anon_client)

    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title
    assert [entry.title for entry in feed.entries] == [feed.entries[0].title]
    assert "Complete response letter" in feed.entries[0].title


def test_it_gives_each_entry_a_stable_absolute_id_and_link(anon_client):
    decision = published_decision()

    entry = _atom(anon_client).entries[0]

    assert entry.id == f"{SITE}/decisions/{decision.pk}/"
    assert entry.link == f"{SITE}/decisions/{decision.pk}/"


def test_it_dates_an_entry_by_its_latest_record_and_keeps_its_id_when_amended(anon_client):
    with _at(1):
        decision = published_decision()
    first = _atom(anon_client).entries[0]
    with _at(5):
        decision_update(decision=decision, data={"summary": "More detail."}, note="Detail", change_kind="amend")

    entry = _atom(anon_client).entries[0]

    assert (first.updated_parsed.tm_mday, entry.updated_parsed.tm_mday) == (1, 5)
    assert entry.id == first.id


def test_it_lists_the_most_recently_recorded_first(anon_client):
    with _at(1):
        recorded_first = published_decision(announced_on=dt.date(2024, 8, 1))
    with _at(2):
        recorded_second = published_decision(announced_on=dt.date(2020, 1, 1))

    ids = [entry.id for entry in _atom(anon_client).entries]

    assert ids == [f"{SITE}/decisions/{recorded_second.pk}/", f"{SITE}/decisions/{recorded_first.pk}/"]


def test_it_dates_imported_history_by_its_announcement_not_by_the_load(anon_client):
    from regulatory.services import decision_publish

    with _at(1):
        news = published_decision(announced_on=dt.date(2024, 8, 30))
    with _at(2):  # a dataset load: history, not news
        imported = DecisionFactory(announced_on=dt.date(2017, 8, 26), researched_on=dt.date(2026, 12, 1))
        decision_publish(decision=imported, is_import=True)

    entries = _atom(anon_client).entries

    assert [e.id for e in entries] == [f"{SITE}/decisions/{news.pk}/", f"{SITE}/decisions/{imported.pk}/"]
    assert entries[1].updated_parsed[:3] == (2017, 8, 26)
    assert entries[0].updated_parsed[:3] == (2024, 9, 1)
    assert "from the historical dataset, researched 1 Dec 2026" in entries[1].summary


def test_it_leaves_drafts_out_of_the_feed(anon_client):
    DecisionFactory()

    assert _atom(anon_client).entries == []


def test_it_marks_a_retracted_decision(anon_client):
    decision = published_decision(title="Approval")
    decision_retract(decision=decision, note="Never happened.")

    assert _atom(anon_client).entries[0].title.startswith("[Retracted]")


def test_it_filters_the_feed_by_jurisdiction_therapy_and_kind(anon_client):
    us, mdma = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    wanted = published_decision(jurisdiction=us, therapies=[mdma], kind=DecisionKind.REFUSAL)
    published_decision(jurisdiction=us, therapies=[mdma], kind=DecisionKind.APPROVAL)
    published_decision(jurisdiction=us, kind=DecisionKind.REFUSAL)
    published_decision(jurisdiction=JurisdictionFactory(code="au"), therapies=[mdma], kind=DecisionKind.REFUSAL)

    feed = _atom(anon_client, jurisdiction="us", therapy="mdma-ptsd", kind="refusal")

    assert [entry.id for entry in feed.entries] == [f"{SITE}/decisions/{wanted.pk}/"]


def test_it_answers_400_naming_the_parameter_of_a_bad_feed_filter(anon_client):
    response = anon_client.get(ATOM, {"jurisdiction": "atlantis"})

    assert response.status_code == 400
    assert b"jurisdiction" in response.content


def test_it_escapes_markup_in_entries(anon_client):
    published_decision(title="<script>alert(1)</script>", summary="<img src=x onerror=alert(1)>")

    response = anon_client.get(ATOM)

    assert b"<script>" not in response.content
    assert b"<img src=x" not in response.content


def test_it_limits_the_feed_to_100_entries(anon_client):
    for _ in range(101):
        published_decision()

    assert len(_atom(anon_client).entries) == 100


# --- iCalendar -------------------------------------------------------------------------


def _calendar(client, **params) -> Calendar:
    response = client.get(ICS, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(client, **params) -> list:
    with _at(10):
        return list(_calendar(client, **params).walk("VEVENT"))


def test_it_serves_future_effective_and_target_dates_as_all_day_events(anon_client):
    decision = published_decision(
        title="NDA accepted",
        status="under_review",
        announced_on=dt.date(2024, 9, 1),
        effective_on=dt.date(2024, 9, 20),
        target_on=dt.date(2024, 12, 1),
    )

    events = _events(anon_client)

    assert [(str(e["UID"]), e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == [
        (f"decision-{decision.pk}-effective@tracker.example.org", dt.date(2024, 9, 20), dt.date(2024, 9, 21)),
        (f"decision-{decision.pk}-target@tracker.example.org", dt.date(2024, 12, 1), dt.date(2024, 12, 2)),
    ]
    assert all(isinstance(e.decoded("DTSTAMP"), dt.datetime) for e in events)
    assert str(events[0]["URL"]) == f"{SITE}/decisions/{decision.pk}/"
    assert "NDA accepted" in str(events[0]["SUMMARY"])


def test_it_has_the_calendar_properties_rfc_5545_requires(anon_client):
    with _at(10):
        calendar = _calendar(anon_client)

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])


def test_it_leaves_past_dates_out_of_the_calendar(anon_client):
    published_decision(
        announced_on=dt.date(2024, 1, 1),
        status="under_review",
        effective_on=dt.date(2024, 9, 9),
        target_on=dt.date(2024, 9, 11),
    )

    assert [e.decoded("DTSTART") for e in _events(anon_client)] == [dt.date(2024, 9, 11)]


def test_it_says_when_a_date_is_known_to_the_month_only(anon_client):
    published_decision(
        announced_on=dt.date(2024, 6, 1), target_on=dt.date(2024, 9, 1), target_precision=Precision.MONTH
    )

    (event,) = _events(anon_client)  # on 10 Sep, "Sep 2024" is not over yet

    assert "month" in str(event["SUMMARY"])
    assert "month only" in str(event["DESCRIPTION"])


def test_it_leaves_drafts_and_retracted_decisions_out_of_the_calendar(anon_client):
    DecisionFactory(target_on=dt.date(2025, 1, 1))
    retracted = published_decision(target_on=dt.date(2025, 1, 1))
    decision_retract(decision=retracted, note="Wrong")

    assert _events(anon_client) == []


def test_it_filters_the_calendar_by_jurisdiction_and_therapy(anon_client):
    us, mdma = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    wanted = published_decision(jurisdiction=us, therapies=[mdma], target_on=dt.date(2025, 1, 1))
    published_decision(jurisdiction=us, target_on=dt.date(2025, 1, 1))
    published_decision(jurisdiction=JurisdictionFactory(code="au"), therapies=[mdma], target_on=dt.date(2025, 1, 1))

    events = _events(anon_client, jurisdiction="us", therapy="mdma-ptsd")

    assert [str(e["UID"]) for e in events] == [f"decision-{wanted.pk}-target@tracker.example.org"]


def test_it_answers_400_naming_the_parameter_of_a_bad_calendar_filter(anon_client):
    response = anon_client.get(ICS, {"therapy": "nope"})

    assert response.status_code == 400
    assert b"therapy" in response.content
