"""GET /api/v1/decisions/ and /api/v1/decisions/<id>/: shape, visibility, filters, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from regulatory.models import DecisionKind, Precision, SourceGrade
from regulatory.services import decision_publish, decision_retract, decision_update
from tests.factories import (
    DecisionFactory,
    JurisdictionFactory,
    SourceFactory,
    TherapyFactory,
    published_decision,
)

LIST = "/api/v1/decisions/"
pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@override_settings(SITE_URL="https://tracker.example.org")
def test_it_returns_a_decision_as_one_object_with_dates_precision_status_and_sources(anon_client):
    decision = DecisionFactory(
        jurisdiction=JurisdictionFactory(code="us"),
        therapies=[TherapyFactory(slug="mdma-ptsd")],
        kind=DecisionKind.ACCEPTANCE,
        status="under_review",
        announced_on=dt.date(2024, 2, 9),
        effective_on=dt.date(2024, 2, 9),
        target_on=dt.date(2024, 8, 1),
        target_precision=Precision.MONTH,
        with_source=False,
    )
    SourceFactory(
        decision=decision,
        url="https://www.fda.gov/notice",
        title="Acceptance letter",
        publisher="FDA",
        published_on=dt.date(2024, 2, 9),
        grade=SourceGrade.OFFICIAL,
    )
    decision_publish(decision=decision)

    row = anon_client.get(f"{LIST}{decision.pk}/").json()

    assert row["id"] == decision.pk
    assert row["url"] == f"https://tracker.example.org/decisions/{decision.pk}/"
    assert row["jurisdiction"] == "us"
    assert row["regulator"] == decision.regulator.code
    assert row["therapies"] == ["mdma-ptsd"]
    assert row["kind"] == "acceptance"
    assert (row["announced_on"], row["announced_precision"]) == ("2024-02-09", "day")
    assert (row["effective_on"], row["effective_precision"]) == ("2024-02-09", "day")
    assert (row["target_on"], row["target_precision"]) == ("2024-08-01", "month")
    assert (row["approval_stage"], row["control"], row["substance"]) == ("under_review", None, "")
    assert row["state"] == "published"
    assert row["recorded_at"] is not None
    assert row["sources"] == [
        {
            "url": "https://www.fda.gov/notice",
            "title": "Acceptance letter",
            "publisher": "FDA",
            "published_on": "2024-02-09",
            "published_precision": "day",
            "grade": "official",
            "is_copy": False,
            "original_url": "",
            "note": "",
        }
    ]


def test_it_gives_null_for_a_decision_that_sets_neither_control_nor_stage(anon_client):
    decision = published_decision(status="")

    row = anon_client.get(f"{LIST}{decision.pk}/").json()

    assert (row["control"], row["approval_stage"]) == (None, None)


def test_it_gives_the_control_a_decision_sets_with_its_instrument(anon_client):
    decision = published_decision(status="prohibited")

    row = anon_client.get(f"{LIST}{decision.pk}/").json()

    assert (row["control"], row["control_instrument"]) == ("prohibited", "Schedule I, Controlled Substances Act")


def test_it_hides_drafts_from_the_public_list(anon_client):
    published = published_decision()
    DecisionFactory()

    assert _ids(anon_client.get(LIST)) == [published.pk]


def test_it_answers_404_for_a_draft_read_anonymously(anon_client):
    draft = DecisionFactory()

    assert anon_client.get(f"{LIST}{draft.pk}/").status_code == 404


def test_it_hides_drafts_from_a_user_who_is_not_an_editor(bob_client):
    draft = DecisionFactory()

    assert bob_client.get(f"{LIST}{draft.pk}/").status_code == 404
    assert _ids(bob_client.get(LIST)) == []


def test_it_shows_drafts_to_editors_with_a_null_recorded_at(alice_client):
    draft = DecisionFactory()

    row = alice_client.get(f"{LIST}{draft.pk}/").json()

    assert (row["state"], row["recorded_at"]) == ("draft", None)
    assert _ids(alice_client.get(LIST)) == [draft.pk]


def test_it_lists_retracted_decisions_marked_as_such(anon_client):
    decision = published_decision()
    decision_retract(decision=decision, note="Wrong regulator.")

    assert anon_client.get(LIST).json()["results"][0]["state"] == "retracted"


def test_it_answers_404_for_an_id_larger_than_the_database_can_hold(anon_client):
    assert anon_client.get(f"{LIST}{2**70}/").status_code == 404


# --- filters ---------------------------------------------------------------------


def test_it_filters_by_jurisdiction_code(anon_client):
    us = published_decision(jurisdiction=JurisdictionFactory(code="us"))
    published_decision(jurisdiction=JurisdictionFactory(code="au"))

    assert _ids(anon_client.get(LIST, {"jurisdiction": "us"})) == [us.pk]


def test_it_accepts_several_jurisdictions_comma_separated_or_repeated(anon_client):
    us = published_decision(jurisdiction=JurisdictionFactory(code="us"))
    au = published_decision(jurisdiction=JurisdictionFactory(code="au"))
    published_decision(jurisdiction=JurisdictionFactory(code="de"))

    assert set(_ids(anon_client.get(LIST, {"jurisdiction": "us,au"}))) == {us.pk, au.pk}
    assert set(_ids(anon_client.get(f"{LIST}?jurisdiction=us&jurisdiction=AU"))) == {us.pk, au.pk}


def test_it_answers_400_naming_jurisdiction_for_an_unknown_code(anon_client):
    JurisdictionFactory(code="us")

    response = anon_client.get(LIST, {"jurisdiction": "us,xx"})

    assert response.status_code == 400
    assert list(response.json()) == ["jurisdiction"]
    assert "'xx'" in response.json()["jurisdiction"][0]


def test_it_filters_by_therapy_without_repeating_a_decision_of_several_therapies(anon_client):
    mdma, psilocybin = TherapyFactory(slug="mdma-ptsd"), TherapyFactory(slug="psilocybin-trd")
    both = published_decision(therapies=[mdma, psilocybin])
    published_decision(therapies=[TherapyFactory(slug="mdma-mdd")])

    assert _ids(anon_client.get(LIST, {"therapy": "mdma-ptsd,psilocybin-trd"})) == [both.pk]


def test_it_answers_400_naming_therapy_for_an_unknown_slug(anon_client):
    response = anon_client.get(LIST, {"therapy": "lsd-anxiety"})

    assert response.status_code == 400
    assert "therapy" in response.json()


def test_it_filters_by_kind(anon_client):
    refusal = published_decision(kind=DecisionKind.REFUSAL)
    published_decision(kind=DecisionKind.APPROVAL)

    assert _ids(anon_client.get(LIST, {"kind": "refusal"})) == [refusal.pk]


def test_it_answers_400_naming_kind_for_an_unknown_kind(anon_client):
    response = anon_client.get(LIST, {"kind": "complete_response"})

    assert response.status_code == 400
    assert "kind" in response.json()


def test_it_filters_by_announcement_dates_inclusively(anon_client):
    early = published_decision(announced_on=dt.date(2023, 2, 3))
    middle = published_decision(announced_on=dt.date(2024, 2, 9))
    published_decision(announced_on=dt.date(2024, 8, 9))

    response = anon_client.get(LIST, {"announced_after": "2023-02-03", "announced_before": "2024-02-09"})

    assert _ids(response) == [middle.pk, early.pk]


@pytest.mark.parametrize("name", ["announced_after", "announced_before"])
def test_it_answers_400_naming_the_parameter_for_a_malformed_date(anon_client, name):
    response = anon_client.get(LIST, {name: "2024-02-30"})

    assert response.status_code == 400
    assert name in response.json()


def test_it_lists_decisions_changed_since_a_time_for_syncing_clients(anon_client):
    with time_machine.travel(dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        old = published_decision()
        untouched = published_decision()
    with time_machine.travel(dt.datetime(2024, 3, 5, 12, tzinfo=dt.UTC), tick=False):
        new = published_decision()
        decision_update(decision=old, data={"title": "Amended title"}, note="Typo", change_kind="correct")

    response = anon_client.get(LIST, {"recorded_since": "2024-03-05T12:00:00Z"})

    assert set(_ids(response)) == {old.pk, new.pk}
    assert untouched.pk not in _ids(response)


def test_it_answers_400_naming_recorded_since_for_a_malformed_datetime(anon_client):
    response = anon_client.get(LIST, {"recorded_since": "yesterday"})

    assert response.status_code == 400
    assert "recorded_since" in response.json()


def test_it_finds_words_in_the_title_or_summary(anon_client):
    hit = published_decision(title="Complete response letter for midomafetamine")
    published_decision(title="Authorised prescriber scheme opens")

    assert _ids(anon_client.get(LIST, {"q": "MIDOMAFETAMINE"})) == [hit.pk]


def test_it_answers_400_naming_an_unknown_parameter(anon_client):
    response = anon_client.get(LIST, {"jurisdictions": "us"})

    assert response.status_code == 400
    assert "jurisdictions" in response.json()


# --- ordering and pagination ------------------------------------------------------


def test_it_orders_newest_announcement_first_with_the_id_breaking_ties(anon_client):
    older = published_decision(announced_on=dt.date(2023, 1, 1))
    same_day = [published_decision(announced_on=dt.date(2024, 1, 1)) for _ in range(3)]

    assert _ids(anon_client.get(LIST)) == [*sorted((d.pk for d in same_day), reverse=True), older.pk]


def test_it_orders_by_recorded_time_when_asked(anon_client):
    with time_machine.travel(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), tick=False):
        recorded_first = published_decision(announced_on=dt.date(2024, 2, 1))
    with time_machine.travel(dt.datetime(2024, 6, 1, tzinfo=dt.UTC), tick=False):
        recorded_last = published_decision(announced_on=dt.date(2023, 2, 1))

    assert _ids(anon_client.get(LIST, {"ordering": "recorded_at"})) == [recorded_first.pk, recorded_last.pk]


def test_it_pages_through_every_decision_exactly_once(anon_client):
    decisions = [published_decision(announced_on=dt.date(2024, 1, 1 + n % 3)) for n in range(7)]

    seen = []
    for page in (1, 2, 3, 4):
        seen += _ids(anon_client.get(LIST, {"page": page, "page_size": 2}))

    assert sorted(seen) == sorted(d.pk for d in decisions)
    assert len(seen) == 7


@pytest.mark.parametrize("page", ["9", "0", "-1", "abc"])
def test_it_answers_400_naming_page_for_a_page_that_does_not_exist(anon_client, page):
    published_decision()

    response = anon_client.get(LIST, {"page": page})

    assert response.status_code == 400
    assert "page" in response.json()


@pytest.mark.parametrize("size", ["0", "501", "ten"])
def test_it_answers_400_naming_page_size_for_a_bad_size(anon_client, size):
    response = anon_client.get(LIST, {"page_size": size})

    assert response.status_code == 400
    assert "page_size" in response.json()


def test_it_answers_400_for_an_unknown_code_that_looks_like_a_format_directive(anon_client):
    response = anon_client.get(LIST, {"jurisdiction": "%s%(x)s"})

    assert response.status_code == 400
    assert "%s%(x)s" in response.json()["jurisdiction"][0]


def test_it_accepts_an_offset_postgresql_would_refuse(anon_client):
    # ISO 8601 allows -23:01; PostgreSQL stops at ±15:59, so it is converted to UTC first.
    response = anon_client.get(LIST, {"recorded_since": "0018-02-14T23:55:29-23:01"})

    assert response.status_code == 200


def test_it_answers_400_for_a_time_past_the_year_9999_in_utc(anon_client):
    response = anon_client.get(LIST, {"recorded_since": "9999-12-31T23:59:59-23:00"})

    assert response.status_code == 400
    assert "recorded_since" in response.json()
