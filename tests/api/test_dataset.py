"""The read endpoints over the shipped dataset (regulatory/data/history.yaml)."""

from __future__ import annotations

import csv
import io

import feedparser
import pytest
from icalendar import Calendar

pytestmark = pytest.mark.django_db


def _status(client, as_of: str, jurisdiction: str, therapy: str = "mdma-ptsd") -> dict:
    response = client.get("/api/v1/status/", {"as_of": as_of, "jurisdiction": jurisdiction, "therapy": therapy})
    assert response.status_code == 200, response.content
    return response.json()["results"][0]


# --- the cells issue 9 pins, on the shipped dataset ----------------------------------


def test_us_psilocybin_for_trd_in_mid_2025_is_schedule_i_investigational_with_no_route(anon_client, dataset):
    row = _status(anon_client, "2025-07-01", "us", "psilocybin-trd")

    assert row["control"]["value"] == "prohibited"
    assert row["control"]["instrument"].startswith("Schedule I")
    assert row["approval_stage"]["value"] == "investigational"
    assert row["access"] == []
    assert row["status"] == "Investigational · Schedule I"


def test_us_mdma_for_ptsd_in_2021_is_investigational_with_a_capped_or_closed_ea_route(anon_client, dataset):
    row = _status(anon_client, "2021-06-01", "us")
    australia = _status(anon_client, "2024-06-01", "au")

    assert row["approval_stage"]["value"] == "investigational"
    assert row["control"]["value"] == "prohibited"
    (route,) = row["access"]
    assert route["kind"] == "expanded_access"
    assert route["capped"] or route["state"] in ("closed", "closed_date_unknown")
    assert row["tone"] == "investigational"
    assert australia["tone"] == "access"
    assert row["tone"] != australia["tone"]


def test_au_mdma_for_ptsd_in_mid_2020_is_prohibited_in_schedule_9_not_no_decision(anon_client, dataset):
    row = _status(anon_client, "2020-06-01", "au")

    assert row["state"] == "recorded"
    assert row["control"]["value"] == "prohibited"
    assert "9" in row["control"]["instrument"]
    assert row["control"]["baseline"] is not None


def test_uk_psilocybin_for_trd_in_2010_is_class_a(anon_client, dataset):
    row = _status(anon_client, "2010-01-01", "gb", "psilocybin-trd")

    assert row["control"]["value"] == "prohibited"
    assert row["status"].startswith("Class A")


def test_cz_psilocybin_for_trd_on_2_january_2026_is_permitted_for_medical_use(anon_client, dataset):
    row = _status(anon_client, "2026-01-02", "cz", "psilocybin-trd")

    assert row["control"]["value"] == "medical_use_permitted"


def test_the_german_programme_reads_unknown_after_11_july_2026_not_open(anon_client, dataset):
    before = _status(anon_client, "2026-07-11", "de", "psilocybin-trd")
    after = _status(anon_client, "2026-07-12", "de", "psilocybin-trd")

    assert [r["state"] for r in before["access"] if r["kind"] == "compassionate_use"] == ["open"]
    assert [r["state"] for r in after["access"] if r["kind"] == "compassionate_use"] == ["unknown_after"]
    assert after["tone"] != "access"


def test_us_mdma_for_ptsd_is_under_review_then_not_approved(anon_client, dataset):
    assert _status(anon_client, "2024-06-30", "us")["approval_stage"]["value"] == "under_review"
    row = _status(anon_client, "2024-09-01", "us")
    assert (row["approval_stage"]["value"], row["approval_stage"]["since"]) == ("not_approved", "2024-08-09")


def test_every_shipped_cell_carries_its_provenance_and_review_date(anon_client, dataset):
    rows = anon_client.get("/api/v1/status/", {"as_of": "2026-01-02"}).json()["results"]

    recorded = [r for r in rows if r["state"] == "recorded"]
    assert recorded
    assert all(r["provenance"]["sources"] >= 1 and r["provenance"]["best_grade"] for r in recorded)
    assert {r["state"] for r in rows} >= {"recorded", "not_researched"}


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
