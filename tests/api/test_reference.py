"""Jurisdictions, therapies and access programmes: read-only lists and details."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import AccessProgramme, ProgrammeKind, ProgrammeSource, ProgrammeState, SourceGrade
from tests.factories import JurisdictionFactory, RegulatorFactory, TherapyFactory

pytestmark = pytest.mark.django_db


def programme(**kwargs) -> AccessProgramme:
    defaults = {
        "slug": "au-authorised-prescriber",
        "name": "Authorised Prescriber scheme",
        "jurisdiction": JurisdictionFactory(code="au"),
        "kind": ProgrammeKind.AUTHORISED_PRESCRIBER,
        "summary": "Psychiatrists approved by an ethics committee may prescribe.",
        "state": ProgrammeState.OPEN,
        "opened_on": dt.date(2023, 7, 1),
    }
    therapies = kwargs.pop("therapies", [])
    item = AccessProgramme.objects.create(**(defaults | kwargs))
    item.therapies.set(therapies)
    ProgrammeSource.objects.create(
        programme=item,
        url=f"https://example.gov/{item.slug}",
        title="Scheme",
        publisher="TGA",
        grade=SourceGrade.OFFICIAL,
    )
    return item


def test_it_lists_jurisdictions_with_their_parent_and_regulators(anon_client):
    eu = JurisdictionFactory(code="eu", name="European Union", position=1)
    de = JurisdictionFactory(code="de", name="Germany", position=2, parent=eu)
    RegulatorFactory(code="bfarm", name="BfArM", jurisdiction=de)

    rows = anon_client.get("/api/v1/jurisdictions/").json()["results"]

    assert [(r["code"], r["parent"]) for r in rows] == [("eu", None), ("de", "eu")]
    assert rows[1]["regulators"] == [{"code": "bfarm", "name": "BfArM", "website": ""}]
    assert rows[1]["url"].endswith("/api/v1/jurisdictions/de/")


def test_it_returns_one_jurisdiction_by_code(anon_client):
    JurisdictionFactory(code="au", name="Australia")

    assert anon_client.get("/api/v1/jurisdictions/au/").json()["name"] == "Australia"


def test_it_answers_404_for_an_unknown_jurisdiction(anon_client):
    assert anon_client.get("/api/v1/jurisdictions/atlantis/").status_code == 404


def test_it_lists_therapies_in_their_order(anon_client):
    TherapyFactory(slug="psilocybin-trd", position=2)
    TherapyFactory(slug="mdma-ptsd", position=1)

    rows = anon_client.get("/api/v1/therapies/").json()["results"]

    assert [r["slug"] for r in rows] == ["mdma-ptsd", "psilocybin-trd"]


def test_it_returns_one_therapy_by_slug(anon_client):
    TherapyFactory(slug="mdma-ptsd", substance="MDMA", indication="PTSD")

    row = anon_client.get("/api/v1/therapies/mdma-ptsd/").json()

    assert (row["substance"], row["indication"]) == ("MDMA", "PTSD")


def test_it_returns_an_access_programme_with_its_therapies_and_sources(anon_client):
    programme(therapies=[TherapyFactory(slug="mdma-ptsd")])

    row = anon_client.get("/api/v1/access-programmes/au-authorised-prescriber/").json()

    assert (row["jurisdiction"], row["kind"], row["state"]) == ("au", "authorised_prescriber", "open")
    assert (row["opened_on"], row["opened_precision"], row["closed_on"]) == ("2023-07-01", "day", None)
    assert row["therapies"] == ["mdma-ptsd"]
    assert [s["publisher"] for s in row["sources"]] == ["TGA"]


def test_it_filters_access_programmes_by_jurisdiction(anon_client):
    programme()
    programme(
        slug="us-expanded-access", jurisdiction=JurisdictionFactory(code="us"), kind=ProgrammeKind.EXPANDED_ACCESS
    )

    rows = anon_client.get("/api/v1/access-programmes/", {"jurisdiction": "us"}).json()["results"]

    assert [r["slug"] for r in rows] == ["us-expanded-access"]


def test_it_answers_400_naming_state_for_an_unknown_programme_state(anon_client):
    response = anon_client.get("/api/v1/access-programmes/", {"state": "ajar"})

    assert response.status_code == 400
    assert "state" in response.json()


def test_it_answers_400_for_an_unknown_parameter_on_a_reference_list(anon_client):
    response = anon_client.get("/api/v1/therapies/", {"substance": "MDMA"})

    assert response.status_code == 400
    assert "substance" in response.json()


def test_it_lists_the_endpoints_at_the_api_root(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["decisions"] == "http://testserver/api/v1/decisions/"
    assert body["subscriptions"] == "http://testserver/api/v1/subscriptions/"
    assert body["docs"] == "http://testserver/api/v1/docs/"
