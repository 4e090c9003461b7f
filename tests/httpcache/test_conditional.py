"""Conditional GET: ETag / Last-Modified → 304, and validators that change
whenever the answer would."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from regulatory.services import decision_update
from tests.factories import DecisionFactory, JurisdictionFactory, published_decision

pytestmark = pytest.mark.django_db
LIST = "/api/v1/decisions/"


def test_it_answers_304_to_a_current_etag(anon_client):
    published_decision()
    first = anon_client.get(LIST)

    second = anon_client.get(LIST, HTTP_IF_NONE_MATCH=first["ETag"])

    assert second.status_code == 304
    assert second.content == b""
    assert second["ETag"] == first["ETag"]


def test_it_answers_304_to_if_modified_since_the_last_change(anon_client):
    published_decision()
    first = anon_client.get(LIST)

    second = anon_client.get(LIST, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert second.status_code == 304


def test_it_answers_200_once_a_decision_is_published(anon_client):
    published_decision()
    etag = anon_client.get(LIST)["ETag"]

    published_decision()

    assert anon_client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_answers_200_once_a_decision_is_corrected(anon_client):
    decision = published_decision()
    etag = anon_client.get(f"{LIST}{decision.pk}/")["ETag"]

    decision_update(decision=decision, data={"title": "Fixed"}, change_kind="correct", note="Typo")

    assert anon_client.get(f"{LIST}{decision.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_answers_200_once_a_reference_row_changes(anon_client):
    jurisdiction = JurisdictionFactory(code="us", name="USA")
    etag = anon_client.get("/api/v1/jurisdictions/")["ETag"]

    jurisdiction.name = "United States"
    jurisdiction.save()

    assert anon_client.get("/api/v1/jurisdictions/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_gives_editors_a_new_etag_when_a_draft_changes(alice_client):
    draft = DecisionFactory(title="Draft")
    etag = alice_client.get(LIST)["ETag"]

    decision_update(decision=draft, data={"title": "Better draft"})

    assert alice_client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_varies_the_etag_with_the_query_string(anon_client):
    JurisdictionFactory(code="us")

    assert anon_client.get(LIST)["ETag"] != anon_client.get(LIST, {"jurisdiction": "us"})["ETag"]


def test_it_varies_the_etag_with_the_reader_being_an_editor(anon_client, alice_client):
    DecisionFactory()
    public_etag = anon_client.get(LIST)["ETag"]

    response = alice_client.get(LIST, HTTP_IF_NONE_MATCH=public_etag)

    assert response.status_code == 200
    assert response["ETag"] != public_etag
    assert "private" in response["Cache-Control"]


def test_it_says_the_answer_varies_with_credentials(anon_client):
    vary = {value.strip().lower() for value in anon_client.get(LIST)["Vary"].split(",")}

    assert {"accept", "authorization", "cookie"} <= vary


def test_it_changes_the_status_etag_at_midnight_when_as_of_defaults_to_today(anon_client):
    with time_machine.travel(dt.datetime(2024, 8, 8, 23, 59, tzinfo=dt.UTC), tick=False):
        before = anon_client.get("/api/v1/status/")
    with time_machine.travel(dt.datetime(2024, 8, 9, 0, 1, tzinfo=dt.UTC), tick=False):
        after = anon_client.get(
            "/api/v1/status/", HTTP_IF_NONE_MATCH=before["ETag"], HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]
        )

    assert after.status_code == 200


@pytest.mark.parametrize("url", ["/feeds/decisions.atom", "/feeds/upcoming.ics", "/exports/decisions.csv"])
def test_it_answers_304_on_feeds_and_exports(anon_client, url):
    published_decision()
    etag = anon_client.get(url)["ETag"]

    assert anon_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_it_does_not_answer_304_to_a_stale_etag_after_a_bad_query(anon_client):
    response = anon_client.get(LIST, {"page": "nope"}, HTTP_IF_NONE_MATCH='"stale"')

    assert response.status_code == 400
    assert not response.has_header("ETag")
