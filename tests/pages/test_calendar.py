"""The catalyst calendar at /calendar/, and /feeds/upcoming.ics when nothing is ahead."""

from __future__ import annotations

import datetime as dt
import re

from icalendar import Calendar

from regulatory.models import AccessProgramme, Decision, Jurisdiction, Precision, ProgrammeKind, ProgrammeState
from tests.factories import published_decision
from tests.pages.sample import decisions_add

# The ETag version; decisions ahead (+ therapies, sources); programmes ahead
# (+ therapies); jurisdictions.
CALENDAR_QUERIES = 7


def month(html: str, key: str) -> str:
    match = re.search(rf'<section[^>]*data-month="{key}".*?</section>', html, re.S)
    assert match, f"no month {key}"
    return match.group(0)


def test_it_groups_the_dates_ahead_by_month_at_their_precision(client, sample):
    html = client.get("/calendar/").content.decode()

    july = month(html, "2026-07")
    assert "July 2026" in july
    assert "Programme listed to run until" in july and "11 Jul 2026" in july
    october = month(html, "2026-10")
    assert "Oct 2026" in october and "day not known" in october
    assert "FOPH consults on tighter rules" in october
    assert html.index('data-month="2026-07"') < html.index('data-month="2026-10"')


def test_it_lists_target_and_effective_dates_and_programme_dates(client, sample):
    us, au = Jurisdiction.objects.get(code="us"), Jurisdiction.objects.get(code="au")
    published_decision(
        jurisdiction=us,
        regulator=sample.us_acceptance.regulator,
        kind="acceptance",
        title="FDA accepts a new NDA",
        announced_on=dt.date(2026, 4, 1),
        target_on=dt.date(2027, 2, 1),
        target_precision=Precision.MONTH,
    )
    published_decision(
        jurisdiction=au,
        kind="scheduling",
        title="A rescheduling that takes effect next year",
        announced_on=dt.date(2026, 5, 1),
        effective_on=dt.date(2027, 1, 1),
        effective_precision=Precision.YEAR,
    )
    AccessProgramme.objects.create(
        slug="au-closing",
        name="A programme that closes",
        jurisdiction=au,
        kind=ProgrammeKind.SPECIAL_ACCESS,
        summary="Closes in September.",
        opened_on=dt.date(2020, 1, 1),
        closed_on=dt.date(2026, 9, 30),
        state=ProgrammeState.OPEN,
    )

    AccessProgramme.objects.create(
        slug="au-planned",
        name="A programme that opens",
        jurisdiction=au,
        kind=ProgrammeKind.NAMED_PATIENT,
        summary="Opens in August.",
        opened_on=dt.date(2026, 8, 1),
        opened_precision=Precision.MONTH,
        state=ProgrammeState.PLANNED,
    )

    html = client.get("/calendar/").content.decode()

    assert "Programme opens" in month(html, "2026-08") and "Aug 2026" in month(html, "2026-08")
    assert "PDUFA goal date" in month(html, "2027-02") and "Feb 2027" in month(html, "2027-02")
    year = month(html, "2027")
    assert "2027 (month not known)" in year and "Takes effect" in year
    assert "Programme closes" in month(html, "2026-09") and "30 Sep 2026" in month(html, "2026-09")


def test_it_leaves_out_dates_past_drafts_and_retracted_decisions(client, sample):
    from regulatory.services import decision_retract

    html = client.get("/calendar/").content.decode()
    assert "11 Aug 2024" not in html  # the US PDUFA date, past

    guidance = Decision.objects.get(title__startswith="FOPH consults")
    decision_retract(decision=guidance, note="Wrong.")
    assert "FOPH consults" not in client.get("/calendar/").content.decode()


def test_it_says_honestly_when_nothing_is_on_record_and_shows_the_review_dates(client, sample, today):
    Decision.objects.update(target_on=None)
    AccessProgramme.objects.update(known_until=None)
    Jurisdiction.objects.filter(code="us").update(reviewed_to=dt.date(2026, 5, 20))
    Jurisdiction.objects.filter(code="au").update(reviewed_to=dt.date(2025, 1, 1))

    html = client.get("/calendar/").content.decode()

    assert "Nothing on record ahead" in html
    assert 'data-month="' not in html
    reviews = html[html.index('id="reviews-heading"') :]
    assert "reviewed to <time" in reviews and "20 May 2026" in reviews
    assert re.search(r'data-jurisdiction="au">.*?stale', reviews, re.S)
    assert 'href="/jurisdictions/us/"' in reviews


def test_it_links_the_icalendar_feed(client, sample):
    assert b'href="/feeds/upcoming.ics"' in client.get("/calendar/").content


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample, django_assert_num_queries):
    with django_assert_num_queries(CALENDAR_QUERIES):
        small = client.get("/calendar/")
    decisions_add(30)
    with django_assert_num_queries(CALENDAR_QUERIES):
        large = client.get("/calendar/")

    assert large.content.count(b'class="upcoming__item') > small.content.count(b'class="upcoming__item')


def test_it_answers_304_to_its_etag(client, sample):
    first = client.get("/calendar/")

    assert client.get("/calendar/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_the_icalendar_feed_is_a_valid_calendar_when_nothing_is_ahead(client, sample):
    Decision.objects.update(target_on=None)  # the sample's effective dates are all past

    response = client.get("/feeds/upcoming.ics")

    assert response.status_code == 200
    text = response.content.decode()
    lines = text.splitlines()
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    calendar = Calendar.from_ical(response.content)
    assert calendar.name == "VCALENDAR"
    assert list(calendar.walk("VEVENT")) == []
