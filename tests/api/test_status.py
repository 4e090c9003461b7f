"""GET /api/v1/status/: one row per (jurisdiction, therapy) on a date."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from regulatory.models import AccessProgramme, DecisionKind, Precision, ProgrammeSource
from regulatory.services import decision_retract
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision

URL = "/api/v1/status/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def us_history() -> dict:
    """MDMA-AT for PTSD in the US: NDA accepted (under review), then a complete response letter."""
    us, mdma = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    acceptance = published_decision(
        jurisdiction=us,
        therapies=[mdma],
        kind=DecisionKind.ACCEPTANCE,
        status="under_review",
        announced_on=dt.date(2024, 2, 9),
        effective_on=dt.date(2024, 2, 9),
    )
    refusal = published_decision(
        jurisdiction=us,
        therapies=[mdma],
        kind=DecisionKind.REFUSAL,
        status="not_approved",
        announced_on=dt.date(2024, 8, 9),
        effective_on=dt.date(2024, 8, 9),
    )
    return {"acceptance": acceptance, "refusal": refusal}


def _row(client, **params) -> dict:
    response = client.get(URL, {"jurisdiction": "us", "therapy": "mdma-ptsd", **params})
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    return row


def test_it_has_no_decision_before_the_first_decision_takes_effect(anon_client, us_history):
    row = _row(anon_client, as_of="2024-02-08")

    assert (row["status"], row["state"], row["since"], row["decision"]) == (
        "Not researched",
        "not_researched",
        None,
        None,
    )
    assert (row["control"], row["approval_stage"], row["access"]) == (None, None, [])


@override_settings(SITE_URL="https://tracker.example.org")
def test_it_is_under_review_from_the_acceptance_on(anon_client, us_history):
    row = _row(anon_client, as_of="2024-02-09")

    acceptance = us_history["acceptance"].pk
    assert row == {
        "jurisdiction": "us",
        "jurisdiction_name": "Jurisdiction US",
        "therapy": "mdma-ptsd",
        "therapy_name": "Therapy mdma-ptsd",
        "status": "Under review",
        "tone": "review",
        "state": "recorded",
        "control": None,
        "approval_stage": {
            "value": "under_review",
            "label": "Under review",
            "since": "2024-02-09",
            "since_precision": "day",
            "decision": acceptance,
        },
        "access": [],
        "certain": True,
        "uncertain_because": [],
        "provenance": {"best_grade": "official", "best_is_copy": False, "sources": 1, "unverified": False},
        "reviewed_to": None,
        "stale": True,
        "since": "2024-02-09",
        "decision": acceptance,
        "decision_url": f"https://tracker.example.org/decisions/{acceptance}/",
    }


def test_it_is_still_under_review_the_day_before_the_refusal(anon_client, us_history):
    assert _row(anon_client, as_of="2024-08-08")["approval_stage"]["value"] == "under_review"


def test_it_is_not_approved_from_the_refusal_on(anon_client, us_history):
    row = _row(anon_client, as_of="2024-08-09")

    assert (row["status"], row["since"], row["decision"]) == ("Not approved", "2024-08-09", us_history["refusal"].pk)
    assert row["approval_stage"]["decision"] == us_history["refusal"].pk


def test_it_uses_today_when_as_of_is_left_out(anon_client, us_history):
    with time_machine.travel(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), tick=False):
        response = anon_client.get(URL, {"jurisdiction": "us"})

    assert response.json()["as_of"] == "2024-05-01"
    assert response.json()["results"][0]["status"] == "Under review"


def test_it_ignores_a_retracted_decision(anon_client, us_history):
    decision_retract(decision=us_history["refusal"], note="Recorded against the wrong therapy.")

    assert _row(anon_client, as_of="2024-09-01")["status"] == "Under review"


def test_it_ignores_drafts(anon_client, us_history):
    DecisionFactory(
        jurisdiction=us_history["refusal"].jurisdiction,
        therapies=list(us_history["refusal"].therapies.all()),
        status="approved",
        announced_on=dt.date(2024, 9, 1),
    )

    assert _row(anon_client, as_of="2024-10-01")["status"] == "Not approved"


def test_it_carries_the_precision_of_the_effective_date_and_is_uncertain_inside_it(anon_client):
    au, mdma = JurisdictionFactory(code="au"), TherapyFactory(slug="mdma-ptsd")
    published_decision(
        jurisdiction=au,
        therapies=[mdma],
        control="medical_use_permitted",
        control_instrument="Schedule 8, Poisons Standard",
        announced_on=dt.date(2023, 2, 3),
        effective_on=dt.date(2023, 7, 1),
        effective_precision=Precision.MONTH,
    )

    inside = anon_client.get(URL, {"as_of": "2023-07-15"}).json()["results"][0]
    after = anon_client.get(URL, {"as_of": "2023-08-01"}).json()["results"][0]

    assert (after["status"], after["since"], after["control"]["since_precision"]) == (
        "Schedule 8",
        "2023-07-01",
        "month",
    )
    assert after["control"]["instrument"] == "Schedule 8, Poisons Standard"
    assert (after["tone"], after["certain"]) == ("permitted", True)
    assert (inside["certain"], inside["uncertain_because"]) == (False, ["control"])


def test_it_lists_access_routes_with_the_programme_that_opens_them(anon_client, us_history):
    us, mdma = us_history["acceptance"].jurisdiction, us_history["acceptance"].therapies.get()
    programme = AccessProgramme.objects.create(
        slug="us-mdma-expanded-access",
        name="EA protocol",
        jurisdiction=us,
        kind="expanded_access",
        summary="…",
        state="closed",
        opened_on=dt.date(2019, 12, 20),
        capped=True,
        capacity="50 patients",
    )
    programme.therapies.set([mdma])
    ProgrammeSource.objects.create(
        programme=programme, url="https://sponsor.example/ea", title="EA", publisher="Sponsor", grade="sponsor"
    )

    row = _row(anon_client, as_of="2021-06-01")

    (route,) = row["access"]
    assert (route["programme"], route["kind"], route["state"], route["capped"], route["scale"]) == (
        "us-mdma-expanded-access",
        "expanded_access",
        "closed_date_unknown",
        True,
        "50 patients",
    )
    assert route["url"].endswith("/api/v1/access-programmes/us-mdma-expanded-access/")
    assert row["status"] == "EA protocol (closed, date unknown)"
    assert row["tone"] == "none"
    assert row["provenance"]["best_grade"] == "sponsor"


def test_it_shows_the_review_date_and_staleness_of_the_jurisdiction(anon_client, us_history):
    from regulatory.services import jurisdiction_review_record

    jurisdiction_review_record(jurisdiction=us_history["acceptance"].jurisdiction, reviewed_to=dt.date(2024, 8, 31))

    fresh, stale = _row(anon_client, as_of="2024-09-01"), _row(anon_client, as_of="2025-01-01")

    assert (fresh["reviewed_to"], fresh["stale"]) == ("2024-08-31", False)
    assert stale["stale"] is True


def test_it_returns_one_row_per_pair_of_the_requested_codes_in_matrix_order(anon_client):
    JurisdictionFactory(code="us", position=1)
    JurisdictionFactory(code="au", position=2)
    JurisdictionFactory(code="de", position=3)
    TherapyFactory(slug="mdma-ptsd", position=1)
    TherapyFactory(slug="psilocybin-trd", position=2)

    rows = anon_client.get(URL, {"jurisdiction": "au,us", "therapy": "psilocybin-trd,mdma-ptsd"}).json()["results"]

    assert [(r["jurisdiction"], r["therapy"]) for r in rows] == [
        ("au", "psilocybin-trd"),
        ("au", "mdma-ptsd"),
        ("us", "psilocybin-trd"),
        ("us", "mdma-ptsd"),
    ]


def test_it_returns_every_pair_when_unfiltered(anon_client):
    JurisdictionFactory(code="us")
    JurisdictionFactory(code="au")
    TherapyFactory(slug="mdma-ptsd")

    assert len(anon_client.get(URL).json()["results"]) == 2


@pytest.mark.parametrize(
    "params, name",
    [
        ({"jurisdiction": "xx"}, "jurisdiction"),
        ({"therapy": "lsd"}, "therapy"),
        ({"as_of": "09/08/2024"}, "as_of"),
        ({"as_of": "2024-13-01"}, "as_of"),
        ({"asof": "2024-01-01"}, "asof"),
    ],
)
def test_it_answers_400_naming_the_bad_parameter(anon_client, params, name):
    response = anon_client.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()) == [name]
