"""Writes to /api/v1/decisions/: editors only, through regulatory.services."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import Change, ChangeKind, Decision, DecisionState
from regulatory.services import decision_retract
from tests.factories import (
    DecisionFactory,
    JurisdictionFactory,
    RegulatorFactory,
    TherapyFactory,
    published_decision,
)

LIST = "/api/v1/decisions/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def payload() -> dict:
    us = JurisdictionFactory(code="us")
    RegulatorFactory(code="fda", jurisdiction=us)
    TherapyFactory(slug="mdma-ptsd")
    return {
        "jurisdiction": "us",
        "regulator": "fda",
        "therapies": ["mdma-ptsd"],
        "kind": "refusal",
        "title": "Complete response letter for midomafetamine",
        "summary": "The FDA declined to approve the application as filed.",
        "announced_on": "2024-08-09",
        "effective_on": "2024-08-09",
        "approval_stage": "not_approved",
        "sources": [
            {
                "url": "https://example.com/press",
                "title": "Press release",
                "publisher": "Lykos",
                "published_on": "2024-08-09",
                "grade": "sponsor",
            },
            {
                "url": "https://example.gov/letter",
                "title": "Letter",
                "publisher": "FDA",
                "published_on": "2024-08-09",
                "grade": "official",
            },
        ],
    }


# --- create -------------------------------------------------------------------------


def test_it_creates_a_draft_with_its_nested_sources(alice_client, payload):
    payload["sources"][1]["published_on"] = "2024-08-01"
    payload["sources"][1]["published_precision"] = "month"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 201, response.content
    decision = Decision.objects.get(pk=response.json()["id"])
    assert decision.state == DecisionState.DRAFT
    assert decision.regulator.code == "fda"
    assert [t.slug for t in decision.therapies.all()] == ["mdma-ptsd"]
    assert sorted((s.url, s.grade, s.published_precision) for s in decision.sources.all()) == [
        ("https://example.com/press", "sponsor", "day"),
        ("https://example.gov/letter", "official", "month"),
    ]
    assert response.json()["approval_stage"] == "not_approved"
    assert response["Location"].endswith(f"/api/v1/decisions/{decision.pk}/")


def test_it_writes_no_change_when_creating_a_draft(alice_client, payload):
    alice_client.post(LIST, payload, format="json")

    assert not Change.objects.exists()


def test_it_answers_401_to_an_anonymous_create_and_creates_nothing(anon_client, payload):
    response = anon_client.post(LIST, payload, format="json")

    assert response.status_code == 401
    assert not Decision.objects.exists()


def test_it_answers_403_to_a_user_who_is_not_an_editor(bob_client, payload):
    response = bob_client.post(LIST, payload, format="json")

    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_it_answers_400_naming_the_field_for_an_unknown_jurisdiction(alice_client, payload):
    payload["jurisdiction"] = "atlantis"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "jurisdiction" in response.json()


def test_it_answers_400_naming_effective_on_when_it_precedes_the_announcement(alice_client, payload):
    payload["effective_on"] = "2024-08-01"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "effective_on" in response.json()
    assert not Decision.objects.exists()


def test_it_answers_400_when_a_stage_has_no_effective_date(alice_client, payload):
    payload["effective_on"] = None

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "effective_on" in response.json()


def test_it_answers_400_naming_the_instrument_when_a_control_has_none(alice_client, payload):
    payload |= {"kind": "scheduling", "approval_stage": None, "control": "prohibited"}

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "control_instrument" in response.json()
    assert not Decision.objects.exists()


def test_it_answers_400_for_the_former_single_status(alice_client, payload):
    payload["status"] = "restricted_access"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "status" in response.json()


def test_it_creates_a_substance_decision_for_every_therapy_with_it(alice_client, payload):
    TherapyFactory(slug="mdma-mdd", substance="MDMA")
    payload |= {
        "kind": "scheduling",
        "therapies": [],
        "substance": "MDMA",
        "approval_stage": None,
        "control": "prohibited",
        "control_instrument": "Schedule I, Controlled Substances Act",
        "announced_on": "1985-05-31",
        "effective_on": "1985-07-01",
    }
    for source in payload["sources"]:
        source["published_on"] = "1985-05-31"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 201, response.content
    assert sorted(response.json()["therapies"]) == ["mdma-mdd", "mdma-ptsd"]


def test_it_answers_400_naming_therapies_when_neither_therapies_nor_substance_are_given(alice_client, payload):
    payload["therapies"] = []

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "therapies" in response.json()


def test_it_answers_400_naming_an_unknown_field(alice_client, payload):
    payload["effective_date"] = "2024-08-09"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "effective_date" in response.json()


def test_it_ignores_read_only_fields_sent_back(alice_client, payload):
    payload.update(id=999, state="published", recorded_at="2024-01-01T00:00:00Z")

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 201
    assert response.json()["state"] == "draft"


def test_it_answers_400_for_a_source_cited_twice(alice_client, payload):
    payload["sources"][1]["url"] = payload["sources"][0]["url"]

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "sources" in response.json()


def test_it_answers_400_naming_the_source_field_at_fault(alice_client, payload):
    payload["sources"][0]["grade"] = "rumour"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    # DRF keys the errors of a list by the position of the item at fault.
    assert "grade" in response.json()["sources"]["0"]


# --- edit ----------------------------------------------------------------------------


def test_it_edits_a_draft_silently(alice_client):
    draft = DecisionFactory(title="Old title")

    response = alice_client.patch(f"{LIST}{draft.pk}/", {"title": "New title"}, format="json")

    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert (draft.title, draft.state) == ("New title", DecisionState.DRAFT)
    assert not Change.objects.exists()


def test_it_keeps_the_sources_when_an_edit_leaves_them_out(alice_client):
    draft = DecisionFactory()

    alice_client.patch(f"{LIST}{draft.pk}/", {"summary": "Shorter."}, format="json")

    assert draft.sources.count() == 1


def test_it_replaces_everything_with_put(alice_client, payload):
    draft = DecisionFactory(jurisdiction=JurisdictionFactory(code="us"))

    response = alice_client.put(f"{LIST}{draft.pk}/", payload, format="json")

    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.title == payload["title"]
    assert draft.sources.count() == 2


def test_it_refuses_to_edit_a_published_decision_without_change_kind_and_note(alice_client):
    decision = published_decision(title="Old title")

    response = alice_client.patch(f"{LIST}{decision.pk}/", {"title": "New title"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"change_kind", "note"}
    decision.refresh_from_db()
    assert decision.title == "Old title"


def test_it_records_a_correction_of_a_published_decision(alice, alice_client):
    decision = published_decision(title="Old title")

    response = alice_client.patch(
        f"{LIST}{decision.pk}/",
        {"title": "New title", "change_kind": "correct", "note": "Typo in the title."},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "corrected"
    change = Change.objects.latest("id")
    assert (change.kind, change.note, change.recorded_by) == (ChangeKind.CORRECT, "Typo in the title.", alice)
    assert change.diff["title"] == ["Old title", "New title"]


def test_it_answers_409_to_an_edit_of_a_retracted_decision(alice_client):
    decision = published_decision()
    decision_retract(decision=decision, note="Wrong")

    response = alice_client.patch(
        f"{LIST}{decision.pk}/", {"title": "X", "change_kind": "amend", "note": "n"}, format="json"
    )

    assert response.status_code == 409


def test_it_answers_403_to_an_edit_by_a_user_who_is_not_an_editor(bob_client):
    draft = DecisionFactory(title="Old title")

    response = bob_client.patch(f"{LIST}{draft.pk}/", {"title": "New title"}, format="json")

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.title == "Old title"


def test_it_answers_401_to_an_anonymous_edit(anon_client):
    decision = published_decision(title="Old title")

    response = anon_client.put(f"{LIST}{decision.pk}/", {"title": "New title"}, format="json")

    assert response.status_code == 401
    decision.refresh_from_db()
    assert decision.title == "Old title"


# --- publish ---------------------------------------------------------------------------


def test_it_publishes_a_draft_and_records_the_change(alice, alice_client):
    draft = DecisionFactory()

    response = alice_client.post(f"{LIST}{draft.pk}/publish/", {"note": "Announced today."}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published"
    assert response.json()["recorded_at"] is not None
    change = Change.objects.get(decision=draft)
    assert (change.kind, change.recorded_by, change.note) == (ChangeKind.PUBLISH, alice, "Announced today.")


def test_it_answers_401_to_an_anonymous_publish_and_leaves_the_draft(anon_client):
    draft = DecisionFactory()

    response = anon_client.post(f"{LIST}{draft.pk}/publish/")

    assert response.status_code == 401
    draft.refresh_from_db()
    assert draft.state == DecisionState.DRAFT
    assert not Change.objects.exists()


def test_it_answers_403_to_a_publish_by_bob(bob_client):
    draft = DecisionFactory()

    response = bob_client.post(f"{LIST}{draft.pk}/publish/")

    assert response.status_code == 403
    assert not Change.objects.exists()


def test_it_answers_400_naming_sources_when_publishing_a_draft_without_sources(alice_client):
    draft = DecisionFactory(with_source=False)

    response = alice_client.post(f"{LIST}{draft.pk}/publish/")

    assert response.status_code == 400
    assert "sources" in response.json()
    assert not Change.objects.exists()


def test_it_answers_409_when_publishing_a_published_decision(alice_client):
    decision = published_decision()

    response = alice_client.post(f"{LIST}{decision.pk}/publish/")

    assert response.status_code == 409
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_answers_404_when_publishing_a_missing_decision(alice_client):
    assert alice_client.post(f"{LIST}987654/publish/").status_code == 404


def test_it_refuses_writes_to_reference_data(alice_client):
    JurisdictionFactory(code="us")

    response = alice_client.post("/api/v1/jurisdictions/", {"code": "xx", "name": "X"}, format="json")

    assert response.status_code == 405


def test_it_lets_an_editor_create_then_publish_in_two_requests(alice_client, payload):
    created = alice_client.post(LIST, payload, format="json").json()

    response = alice_client.post(f"{LIST}{created['id']}/publish/")

    assert response.status_code == 200
    assert Decision.objects.get(pk=created["id"]).published_at.date() <= dt.date.today()


# --- optimistic concurrency: version in the body, If-Match against the ETag ----------------------


def _detail(decision) -> str:
    return f"{LIST}{decision.pk}/"


def test_it_returns_the_version_and_moves_it_on_with_each_edit(alice_client):
    draft = DecisionFactory()

    before = alice_client.get(_detail(draft)).json()["version"]
    after = alice_client.patch(_detail(draft), {"title": "New title", "version": before}, format="json").json()

    assert after["version"] == before + 1


def test_it_answers_409_to_an_edit_based_on_a_stale_version_and_changes_nothing(alice_client):
    decision = published_decision(title="Original")
    opened = alice_client.get(_detail(decision)).json()["version"]
    first = alice_client.patch(
        _detail(decision),
        {"title": "First editor's title", "change_kind": "correct", "note": "Typo.", "version": opened},
        format="json",
    )

    response = alice_client.patch(
        _detail(decision),
        {"summary": "Second editor's summary", "change_kind": "amend", "note": "More.", "version": opened},
        format="json",
    )

    assert first.status_code == 200
    assert response.status_code == 409
    assert "Someone else changed this decision since you opened it" in response.json()["detail"]
    decision.refresh_from_db()
    assert decision.title == "First editor's title"
    assert decision.summary != "Second editor's summary"
    assert Change.objects.filter(decision=decision).count() == 2


def test_it_applies_an_edit_whose_if_match_names_the_current_etag(alice_client):
    decision = published_decision(title="Original")
    etag = alice_client.get(_detail(decision))["ETag"]

    response = alice_client.patch(
        _detail(decision),
        {"title": "New title", "change_kind": "correct", "note": "Typo."},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert response.status_code == 200, response.content
    assert response["ETag"] != etag
    assert response["ETag"] == alice_client.get(_detail(decision))["ETag"]
    decision.refresh_from_db()
    assert decision.title == "New title"


def test_it_answers_412_when_if_match_names_an_etag_that_is_no_longer_current(alice_client):
    decision = published_decision(title="Original")
    stale = alice_client.get(_detail(decision))["ETag"]
    alice_client.patch(
        _detail(decision), {"title": "First editor's title", "change_kind": "correct", "note": "Typo."}, format="json"
    )

    response = alice_client.put(
        _detail(decision),
        {"title": "Second editor's title", "change_kind": "amend", "note": "More."},
        format="json",
        HTTP_IF_MATCH=stale,
    )

    assert response.status_code == 412
    decision.refresh_from_db()
    assert decision.title == "First editor's title"
    assert Change.objects.filter(decision=decision).count() == 2


@pytest.mark.parametrize("if_match", ['"not-the-etag"', "W/{etag}", "garbage"])
def test_it_answers_412_to_an_if_match_that_does_not_strongly_match(alice_client, if_match):
    draft = DecisionFactory(title="Original")
    etag = alice_client.get(_detail(draft))["ETag"]

    response = alice_client.patch(
        _detail(draft), {"title": "New"}, format="json", HTTP_IF_MATCH=if_match.format(etag=etag)
    )

    assert response.status_code == 412
    draft.refresh_from_db()
    assert draft.title == "Original"


def test_it_answers_412_before_looking_at_the_body(alice_client):
    draft = DecisionFactory()

    response = alice_client.patch(_detail(draft), {"kind": "no-such-kind"}, format="json", HTTP_IF_MATCH='"stale"')

    assert response.status_code == 412


def test_it_accepts_if_match_star_for_a_decision_that_exists(alice_client):
    draft = DecisionFactory()

    response = alice_client.patch(_detail(draft), {"title": "New"}, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 200


def test_it_answers_409_to_publishing_a_draft_that_changed_since_it_was_reviewed(alice_client):
    draft = DecisionFactory()
    reviewed = draft.version
    alice_client.patch(_detail(draft), {"title": "Changed after review"}, format="json")

    response = alice_client.post(f"{_detail(draft)}publish/", {"version": reviewed}, format="json")

    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.is_draft


@pytest.mark.parametrize("version", [0, -1, 2**31, "two"])
def test_it_answers_400_naming_a_version_that_cannot_be_one(alice_client, version):
    draft = DecisionFactory(title="Original")

    response = alice_client.patch(_detail(draft), {"title": "New", "version": version}, format="json")

    assert response.status_code == 400
    assert "version" in response.json()
    draft.refresh_from_db()
    assert draft.title == "Original"


# --- integrity and safety of writes ---------------------------------------------------------------


def test_it_never_changes_the_slug_of_a_published_decision(alice_client):
    decision = published_decision(slug="cited-slug")

    response = alice_client.patch(
        _detail(decision), {"slug": "renamed", "change_kind": "correct", "note": "Rename."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["slug"] == "cited-slug"
    decision.refresh_from_db()
    assert decision.slug == "cited-slug"
    assert Change.objects.filter(decision=decision).count() == 1


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.gov/letter.pdf", "http:///letter"])
def test_it_answers_400_naming_the_url_of_a_source_that_is_not_a_web_address(alice_client, payload, url):
    payload["sources"][0]["url"] = url

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "url" in response.json()["sources"]["0"]
    assert not Decision.objects.exists()
