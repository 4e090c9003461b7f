"""The read endpoints over the shipped dataset (regulatory/data/history.yaml)."""

from __future__ import annotations

import csv
import io

import feedparser
import pytest
from icalendar import Calendar

pytestmark = pytest.mark.django_db


def _status(client, as_of: str, jurisdiction: str) -> dict:
    response = client.get("/api/v1/status/", {"as_of": as_of, "jurisdiction": jurisdiction, "therapy": "mdma-ptsd"})
    assert response.status_code == 200, response.content
    return response.json()["results"][0]


def test_it_reports_mdma_ptsd_in_the_us_under_review_then_not_approved(anon_client, dataset):
    assert _status(anon_client, "2024-06-30", "us")["status"] == "under_review"
    row = _status(anon_client, "2024-09-01", "us")
    assert (row["status"], row["since"]) == ("not_approved", "2024-08-09")


def test_it_reports_mdma_ptsd_in_australia_restricted_from_july_2023(anon_client, dataset):
    assert _status(anon_client, "2023-06-30", "au")["status"] != "restricted_access"
    row = _status(anon_client, "2023-07-01", "au")
    assert (row["status"], row["since"]) == ("restricted_access", "2023-07-01")


def test_it_exports_every_public_decision_as_csv(anon_client, dataset):
    count = anon_client.get("/api/v1/decisions/").json()["count"]

    rows = list(csv.DictReader(io.StringIO(anon_client.get("/exports/decisions.csv").content.decode())))

    assert len(rows) == count
    assert not [r for r in rows if r["title"][:1] in "=+-@\t\r"]


def test_it_serves_the_dataset_as_a_valid_atom_feed(anon_client, dataset):
    feed = feedparser.parse(anon_client.get("/feeds/decisions.atom").content)

    assert feed.bozo == 0
    assert len(feed.entries) == min(100, anon_client.get("/api/v1/decisions/").json()["count"])


def test_it_serves_the_dataset_as_a_parseable_calendar(anon_client, dataset):
    response = anon_client.get("/feeds/upcoming.ics")

    calendar = Calendar.from_ical(response.content)
    uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids))
