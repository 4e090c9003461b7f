"""GET /api/v1/status/: one row per (jurisdiction, therapy) on a date."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from regulatory.models import DecisionKind, Precision, Status
from regulatory.services import decision_retract
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision

URL = "/api/v1/status/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def us_history() -> dict:
    """MDMA-AT for PTSD in the US: NDA accepted (under review), then a complete response letter."""
    us, mdma = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    acceptance = published_decision(
        jurisdiction=us, therapies=[mdma], kind=DecisionKind.ACCEPTANCE, status=Status.UNDER_REVIEW,
        announced_on=dt.date(2024, 2, 9), effective_on=dt.date(2024, 2, 9),
    )
    refusal = published_decision(
        jurisdiction=us, therapies=[mdma], kind=DecisionKind.REFUSAL, status=Status.NOT_APPROVED,
        announced_on=dt.date(2024, 8, 9), effective_on=dt.date(2024, 8, 9),
    )
    return {"acceptance": acceptance, "refusal": refusal}


def _row(client, **params) -> dict:
    response = client.get(URL, {"jurisdiction": "us", "therapy": "mdma-ptsd", **params})
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    return row


def test_it_has_no_status_before_the_first_decision_takes_effect(anon_client, us_history):
    row = _row(anon_client, as_of="2024-02-08")

    assert (row["status"], row["since"], row["decision"]) == (None, None, None)


@override_settings(SITE_URL="https://tracker.example.org")
def test_it_is_under_review_from_the_acceptance_on(anon_client, us_history):
    row = _row(anon_client, as_of="2024-02-09")

    acceptance = us_history["acceptance"].pk
    assert row == {
        "jurisdiction": "us", "jurisdiction_name": "Jurisdiction US",
        "therapy": "mdma-ptsd", "therapy_name": "Therapy mdma-ptsd",
        "status": "under_review", "since": "2024-02-09", "since_precision": "day",
        "decision": acceptance, "decision_url": f"https://tracker.example.org/decisions/{acceptance}/",
    }


def test_it_is_still_under_review_the_day_before_the_refusal(anon_client, us_history):
    assert _row(anon_client, as_of="2024-08-08")["status"] == "under_review"


def test_it_is_not_approved_from_the_refusal_on(anon_client, us_history):
    row = _row(anon_client, as_of="2024-08-09")

    assert (row["status"], row["since"], row["decision"]) == ("not_approved", "2024-08-09", us_history["refusal"].pk)


def test_it_uses_today_when_as_of_is_left_out(anon_client, us_history):
    with time_machine.travel(dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc), tick=False):
        response = anon_client.get(URL, {"jurisdiction": "us"})

    assert response.json()["as_of"] == "2024-05-01"
    assert response.json()["results"][0]["status"] == "under_review"


def test_it_ignores_a_retracted_decision(anon_client, us_history):
    decision_retract(decision=us_history["refusal"], note="Recorded against the wrong therapy.")

    assert _row(anon_client, as_of="2024-09-01")["status"] == "under_review"


def test_it_ignores_drafts(anon_client, us_history):
    DecisionFactory(jurisdiction=us_history["refusal"].jurisdiction, therapies=list(us_history["refusal"].therapies.all()),
                    status=Status.APPROVED, announced_on=dt.date(2024, 9, 1))

    assert _row(anon_client, as_of="2024-10-01")["status"] == "not_approved"


def test_it_carries_the_precision_of_the_effective_date(anon_client):
    au, mdma = JurisdictionFactory(code="au"), TherapyFactory(slug="mdma-ptsd")
    published_decision(jurisdiction=au, therapies=[mdma], status=Status.RESTRICTED_ACCESS,
                       announced_on=dt.date(2023, 2, 3), effective_on=dt.date(2023, 7, 1),
                       effective_precision=Precision.MONTH)

    row = anon_client.get(URL, {"as_of": "2023-08-01"}).json()["results"][0]

    assert (row["status"], row["since"], row["since_precision"]) == ("restricted_access", "2023-07-01", "month")


def test_it_returns_one_row_per_pair_of_the_requested_codes_in_matrix_order(anon_client):
    JurisdictionFactory(code="us", position=1)
    JurisdictionFactory(code="au", position=2)
    JurisdictionFactory(code="de", position=3)
    TherapyFactory(slug="mdma-ptsd", position=1)
    TherapyFactory(slug="psilocybin-trd", position=2)

    rows = anon_client.get(URL, {"jurisdiction": "au,us", "therapy": "psilocybin-trd,mdma-ptsd"}).json()["results"]

    assert [(r["jurisdiction"], r["therapy"]) for r in rows] == [
        ("au", "psilocybin-trd"), ("au", "mdma-ptsd"), ("us", "psilocybin-trd"), ("us", "mdma-ptsd"),
    ]


def test_it_returns_every_pair_when_unfiltered(anon_client):
    JurisdictionFactory(code="us")
    JurisdictionFactory(code="au")
    TherapyFactory(slug="mdma-ptsd")

    assert len(anon_client.get(URL).json()["results"]) == 2


@pytest.mark.parametrize("params, name", [
    ({"jurisdiction": "xx"}, "jurisdiction"),
    ({"therapy": "lsd"}, "therapy"),
    ({"as_of": "09/08/2024"}, "as_of"),
    ({"as_of": "2024-13-01"}, "as_of"),
    ({"asof": "2024-01-01"}, "asof"),
])
def test_it_answers_400_naming_the_bad_parameter(anon_client, params, name):
    response = anon_client.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()) == [name]
