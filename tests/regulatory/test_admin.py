import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from regulatory.models import Change, ChangeKind, Decision, DecisionState
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def today_is():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield dt.date(2026, 6, 1)


def _form_data(decision: Decision, **overrides) -> dict:
    source = decision.sources.first()
    data = {
        "title": decision.title,
        "slug": decision.slug,
        "jurisdiction": decision.jurisdiction_id,
        "regulator": decision.regulator_id or "",
        "therapies": [t.pk for t in decision.therapies.all()],
        "kind": decision.kind,
        "summary": decision.summary,
        "announced_on": decision.announced_on.isoformat(),
        "announced_precision": decision.announced_precision,
        "effective_on": decision.effective_on.isoformat() if decision.effective_on else "",
        "effective_precision": decision.effective_precision,
        "target_on": "",
        "target_precision": "day",
        "substance": decision.substance,
        "control": decision.control,
        "control_instrument": decision.control_instrument,
        "approval_stage": decision.approval_stage,
        "access_programme": "",
        "researched_on": "",
        "researched_precision": "day",
        "verified": "on",
        "verification_note": "",
        "change_kind": "",
        "change_note": "",
        "based_on_version": decision.version,
        "sources-TOTAL_FORMS": "1",
        "sources-INITIAL_FORMS": "1",
        "sources-MIN_NUM_FORMS": "1",
        "sources-MAX_NUM_FORMS": "1000",
        "sources-0-id": source.pk,
        "sources-0-decision": decision.pk,
        "sources-0-url": source.url,
        "sources-0-grade": source.grade,
        "sources-0-title": source.title,
        "sources-0-publisher": source.publisher,
        "sources-0-published_on": source.published_on.isoformat() if source.published_on else "",
        "sources-0-published_precision": source.published_precision,
        "sources-0-note": source.note,
        "sources-0-original_url": "",
    }
    data.update(overrides)
    return data


def test_it_lets_an_editor_open_every_admin_list(editor_client):
    for model in (
        "decision",
        "accessprogramme",
        "jurisdiction",
        "regulator",
        "therapy",
        "change",
        "controlbaseline",
        "jurisdictionreview",
        "datasetrelease",
    ):
        response = editor_client.get(reverse(f"admin:regulatory_{model}_changelist"))
        assert response.status_code == 200, model


def test_it_keeps_non_editors_out_of_the_admin(client, bob):
    client.force_login(bob)

    response = client.get(reverse("admin:regulatory_decision_changelist"))

    assert response.status_code == 302


def test_it_publishes_drafts_with_the_admin_action(editor_client, alice):
    draft = DecisionFactory()

    response = editor_client.post(
        reverse("admin:regulatory_decision_changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk]},
        follow=True,
    )

    draft.refresh_from_db()
    assert response.status_code == 200
    assert draft.state == DecisionState.PUBLISHED
    assert Change.objects.get(decision=draft).recorded_by == alice


def test_it_explains_why_a_draft_without_sources_was_not_published(editor_client):
    draft = DecisionFactory(with_source=False)

    response = editor_client.post(
        reverse("admin:regulatory_decision_changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk]},
        follow=True,
    )

    assert "needs at least one source" in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_draft


def test_it_points_a_date_error_at_the_field(editor_client):
    decision = DecisionFactory(announced_on=dt.date(2024, 2, 9))
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, effective_on="2024-01-01"))

    assert response.status_code == 200
    assert "effective_on" in response.context["adminform"].form.errors


def test_it_requires_the_kind_of_edit_for_a_published_decision(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, title="Changed"))

    assert "change_kind" in response.context["adminform"].form.errors
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_requires_a_public_note_for_an_amendment(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, title="Changed", change_kind="amend"))

    assert "change_note" in response.context["adminform"].form.errors
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_records_a_correction_made_in_the_admin(editor_client, alice):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(
        url, _form_data(decision, title="Corrected title", change_kind="correct", change_note="Typo in the title.")
    )

    assert response.status_code == 302
    change = Change.objects.filter(decision=decision).latest("id")
    assert change.kind == ChangeKind.CORRECT
    assert change.diff["title"][1] == "Corrected title"
    assert change.recorded_by == alice
    assert decision.history.count() >= 2


def test_it_retracts_from_the_admin_without_applying_other_edits(editor_client):
    decision = published_decision(title="Original")
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    confirmation = editor_client.post(
        url, _form_data(decision, title="Ignored", change_kind="retract", change_note="Duplicate entry.")
    )
    form = confirmation.context["form"]
    editor_client.post(
        reverse("admin:regulatory_decision_retract", args=[decision.pk]),
        {"note": form["note"].value(), "version": form["version"].value()},
    )

    decision.refresh_from_db()
    assert decision.state == DecisionState.RETRACTED
    assert decision.title == "Original"
    assert decision.changes.latest("id").note == "Duplicate entry."


def test_it_offers_no_delete_for_a_published_decision(editor_client):
    decision = published_decision()

    response = editor_client.post(reverse("admin:regulatory_decision_delete", args=[decision.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_it_requires_the_kind_of_edit_when_only_the_sources_of_a_published_decision_change(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, **{"sources-0-url": "https://www.fda.gov/new"}))

    assert response.status_code == 200
    assert "amendment or a correction" in str(response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert decision.sources.get().url != "https://www.fda.gov/new"
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_records_a_sources_only_amendment_with_its_note(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(
        url,
        _form_data(
            decision,
            change_kind="amend",
            change_note="Official letter added.",
            **{"sources-0-url": "https://www.fda.gov/new"},
        ),
    )

    assert response.status_code == 302
    change = Change.objects.filter(decision=decision).latest("id")
    assert (change.kind, change.note, list(change.diff)) == (ChangeKind.AMEND, "Official letter added.", ["sources"])


def test_it_does_not_let_editors_delete_a_therapy_in_use(editor_client, alice):
    therapy = TherapyFactory()
    published_decision(therapies=[therapy])

    response = editor_client.post(reverse("admin:regulatory_therapy_delete", args=[therapy.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert not alice.has_perm("regulatory.delete_therapy")


def test_it_does_not_let_a_superuser_delete_a_therapy_in_use(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-12345")
    client.force_login(admin_user)
    therapy = TherapyFactory()
    published_decision(therapies=[therapy])

    response = client.post(reverse("admin:regulatory_therapy_delete", args=[therapy.pk]), {"post": "yes"})

    assert response.status_code == 403
    therapy.refresh_from_db()


# --- one write path: the admin edits through the services ----------------------------------


def test_it_creates_a_draft_with_its_sources_through_the_service(editor_client, alice):
    jurisdiction, therapy = JurisdictionFactory(code="us"), TherapyFactory()
    data = {
        "title": "FDA accepts the NDA",
        "slug": "us-fda-accepts-the-nda",
        "jurisdiction": jurisdiction.pk,
        "regulator": "",
        "therapies": [therapy.pk],
        "kind": "acceptance",
        "summary": "Priority review.",
        "announced_on": "2024-02-09",
        "announced_precision": "day",
        "effective_on": "",
        "effective_precision": "day",
        "target_on": "",
        "target_precision": "day",
        "substance": "",
        "control": "",
        "control_instrument": "",
        "approval_stage": "",
        "access_programme": "",
        "researched_on": "",
        "researched_precision": "day",
        "verified": "on",
        "verification_note": "",
        "sources-TOTAL_FORMS": "1",
        "sources-INITIAL_FORMS": "0",
        "sources-MIN_NUM_FORMS": "1",
        "sources-MAX_NUM_FORMS": "1000",
        "sources-0-url": "https://www.fda.gov/nda",
        "sources-0-grade": "official",
        "sources-0-title": "NDA",
        "sources-0-publisher": "FDA",
        "sources-0-published_on": "",
        "sources-0-published_precision": "day",
        "sources-0-note": "",
        "sources-0-original_url": "",
    }

    response = editor_client.post(reverse("admin:regulatory_decision_add"), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    decision = Decision.objects.get(slug="us-fda-accepts-the-nda")
    assert decision.is_draft
    assert [s.url for s in decision.sources.all()] == ["https://www.fda.gov/nda"]
    assert [t.pk for t in decision.therapies.all()] == [therapy.pk]
    assert decision.history.latest().history_user == alice
    assert not Change.objects.exists()


def test_it_moves_the_version_on_when_the_admin_saves(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    editor_client.post(url, _form_data(decision, title="Amended", change_kind="amend", change_note="News."))

    assert Decision.objects.get(pk=decision.pk).version == decision.version + 1


def test_it_deletes_a_draft_through_the_service(editor_client):
    draft = DecisionFactory()

    response = editor_client.post(reverse("admin:regulatory_decision_delete", args=[draft.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Decision.objects.filter(pk=draft.pk).exists()


# --- integrity of the record ------------------------------------------------------------------


def _history_url(decision: Decision, record) -> str:
    return reverse("admin:regulatory_decision_simple_history", args=[decision.pk, record.history_id])


def test_it_refuses_to_roll_a_published_decision_back_to_its_draft_version(editor_client):
    decision = published_decision()
    draft_version = decision.history.filter(state=DecisionState.DRAFT).earliest()

    response = editor_client.post(_history_url(decision, draft_version), _form_data(decision))

    assert response.status_code == 405
    decision.refresh_from_db()
    assert decision.state == DecisionState.PUBLISHED
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_refuses_to_undo_a_correction_through_the_history(editor_client):
    decision = published_decision(title="Wrong title")
    before_correction = decision.history.latest()
    correct = reverse("admin:regulatory_decision_change", args=[decision.pk])
    editor_client.post(correct, _form_data(decision, title="Right title", change_kind="correct", change_note="Typo."))
    decision.refresh_from_db()

    response = editor_client.post(_history_url(decision, before_correction), _form_data(decision, title="Wrong title"))

    assert response.status_code == 405
    decision.refresh_from_db()
    assert (decision.title, decision.state) == ("Right title", DecisionState.CORRECTED)
    assert Change.objects.filter(decision=decision).count() == 2


def test_it_refuses_to_undo_a_retraction_through_the_history(editor_client):
    from regulatory.services import decision_retract

    decision = published_decision()
    published_version = decision.history.latest()
    decision_retract(decision=decision, note="Duplicate.")

    response = editor_client.post(_history_url(decision, published_version), _form_data(decision))

    assert response.status_code == 405
    decision.refresh_from_db()
    assert decision.state == DecisionState.RETRACTED


def test_it_still_shows_a_past_version_read_only(editor_client):
    decision = published_decision(title="Shown")

    response = editor_client.get(_history_url(decision, decision.history.latest()))

    assert response.status_code == 200
    assert "Revert" not in response.content.decode()


def test_it_refuses_a_jurisdiction_as_its_own_parent_and_keeps_it_on_the_matrix(editor_client):
    us = JurisdictionFactory(code="us", name="United States")
    published_decision(jurisdiction=us)
    url = reverse("admin:regulatory_jurisdiction_change", args=[us.pk])

    response = editor_client.post(url, {"code": "us", "name": "United States", "parent": us.pk, "position": 1})

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    us.refresh_from_db()
    assert us.parent is None
    assert "United States" in editor_client.get("/").content.decode()


def test_it_refuses_a_cycle_of_jurisdictions_in_the_admin(editor_client):
    eu = JurisdictionFactory(code="eu", name="European Union")
    de = JurisdictionFactory(code="de", name="Germany", parent=eu)
    url = reverse("admin:regulatory_jurisdiction_change", args=[eu.pk])

    response = editor_client.post(url, {"code": "eu", "name": "European Union", "parent": de.pk, "position": 2})

    assert response.status_code == 200
    assert "eu → de → eu" in str(response.context["adminform"].form.errors["parent"])
    eu.refresh_from_db()
    assert eu.parent is None


def test_it_keeps_the_slug_of_a_published_decision_fixed_in_the_admin(editor_client):
    decision = published_decision(slug="cited-slug")
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    page = editor_client.get(url).content.decode()
    editor_client.post(url, _form_data(decision, slug="renamed", change_kind="amend", change_note="Rename."))

    assert 'name="slug"' not in page
    decision.refresh_from_db()
    assert decision.slug == "cited-slug"
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_lets_a_draft_change_its_slug_in_the_admin(editor_client):
    draft = DecisionFactory(slug="first-slug")

    editor_client.post(
        reverse("admin:regulatory_decision_change", args=[draft.pk]), _form_data(draft, slug="better-slug")
    )

    draft.refresh_from_db()
    assert draft.slug == "better-slug"


def test_it_refuses_a_stale_admin_form_with_a_clear_message(editor_client):
    decision = published_decision(title="Original")
    opened = Decision.objects.get(pk=decision.pk)
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])
    editor_client.post(
        url, _form_data(decision, title="First editor's title", change_kind="correct", change_note="Typo.")
    )

    response = editor_client.post(
        url, _form_data(opened, summary="Second editor's summary", change_kind="amend", change_note="More detail.")
    )

    assert response.status_code == 200
    assert "Someone else changed this decision since you opened it; reload" in response.content.decode()
    decision.refresh_from_db()
    assert decision.title == "First editor's title"
    assert decision.summary != "Second editor's summary"
    assert Change.objects.filter(decision=decision).count() == 2


# --- editors' safety ---------------------------------------------------------------------------


def test_it_asks_to_confirm_a_retraction_on_a_page_that_says_it_is_permanent(editor_client):
    decision = published_decision()
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, change_kind="retract", change_note="Duplicate entry."))

    assert response.status_code == 200
    page = response.content.decode()
    assert "is permanent" in page
    assert "Duplicate entry." in page
    decision.refresh_from_db()
    assert decision.state == DecisionState.PUBLISHED
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_offers_the_retraction_page_from_a_published_decisions_form(editor_client):
    decision = published_decision()
    retract = reverse("admin:regulatory_decision_retract", args=[decision.pk])

    form_page = editor_client.get(reverse("admin:regulatory_decision_change", args=[decision.pk]))
    confirmation = editor_client.get(retract)

    assert retract in form_page.content.decode()
    assert confirmation.status_code == 200
    assert "is permanent" in confirmation.content.decode()


def test_it_does_not_retract_without_a_note(editor_client):
    decision = published_decision()

    response = editor_client.post(
        reverse("admin:regulatory_decision_retract", args=[decision.pk]), {"note": " ", "version": decision.version}
    )

    assert response.status_code == 200
    assert "note" in response.context["form"].errors
    decision.refresh_from_db()
    assert decision.state == DecisionState.PUBLISHED


def test_it_refuses_a_retraction_confirmed_on_a_stale_page(editor_client):
    decision = published_decision()
    stale = decision.version
    editor_client.post(
        reverse("admin:regulatory_decision_change", args=[decision.pk]),
        _form_data(decision, title="Amended", change_kind="amend", change_note="News."),
    )

    response = editor_client.post(
        reverse("admin:regulatory_decision_retract", args=[decision.pk]), {"note": "Duplicate.", "version": stale}
    )

    assert "Someone else changed this decision since you opened it" in response.content.decode()
    decision.refresh_from_db()
    assert decision.state == DecisionState.AMENDED


def test_it_offers_no_retraction_of_a_draft(editor_client):
    draft = DecisionFactory()

    response = editor_client.post(
        reverse("admin:regulatory_decision_retract", args=[draft.pk]), {"note": "x", "version": draft.version}
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.is_draft


def test_it_publishes_a_draft_from_its_change_form(editor_client, alice):
    draft = DecisionFactory(title="Draft title")
    url = reverse("admin:regulatory_decision_change", args=[draft.pk])

    assert 'name="_publish"' in editor_client.get(url).content.decode()
    response = editor_client.post(url, {**_form_data(draft, title="Final title"), "_publish": "Save and publish"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.state) == ("Final title", DecisionState.PUBLISHED)
    change = Change.objects.get(decision=draft)
    assert (change.kind, change.recorded_by, change.diff["title"]) == (ChangeKind.PUBLISH, alice, [None, "Final title"])


def test_it_offers_no_publish_button_on_a_published_decision(editor_client):
    decision = published_decision()

    page = editor_client.get(reverse("admin:regulatory_decision_change", args=[decision.pk])).content.decode()

    assert 'name="_publish"' not in page


def test_it_shows_and_takes_dates_as_iso(editor_client):
    draft = DecisionFactory(announced_on=dt.date(2024, 2, 9))
    url = reverse("admin:regulatory_decision_change", args=[draft.pk])

    page = editor_client.get(url).content.decode()
    response = editor_client.post(url, _form_data(draft, announced_on="09/02/2024"))

    assert 'value="2024-02-09"' in page
    assert "YYYY-MM-DD" in page
    assert "announced_on" in response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert draft.announced_on == dt.date(2024, 2, 9)


def test_it_writes_iso_dates_from_the_admin_calendar(editor_client):
    # The calendar widget writes dates in the first DATE_INPUT_FORMATS of the JS catalog.
    catalog = editor_client.get(reverse("admin:jsi18n")).content.decode()

    assert re.search(r'"DATE_INPUT_FORMATS": \[\s*"%Y-%m-%d"', catalog)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.gov/letter.pdf", "http:///letter"])
def test_it_refuses_a_source_url_that_is_not_a_web_address(editor_client, url):
    draft = DecisionFactory()
    original = draft.sources.get().url

    response = editor_client.post(
        reverse("admin:regulatory_decision_change", args=[draft.pk]), _form_data(draft, **{"sources-0-url": url})
    )

    assert response.status_code == 200
    assert "url" in response.context["inline_admin_formsets"][0].formset.errors[0]
    assert draft.sources.get().url == original


def test_it_names_the_instrument_when_a_control_is_set_without_one(editor_client):
    decision = DecisionFactory(announced_on=dt.date(2024, 2, 9))
    url = reverse("admin:regulatory_decision_change", args=[decision.pk])

    response = editor_client.post(url, _form_data(decision, control="prohibited", effective_on="2024-02-09"))

    assert response.status_code == 200
    assert "control_instrument" in response.context["adminform"].form.errors
    decision.refresh_from_db()
    assert decision.control == ""


def _programme_form(jurisdiction, **overrides) -> dict:
    data = {
        "slug": "a-programme",
        "name": "A programme",
        "jurisdiction": jurisdiction.pk,
        "regulator": "",
        "kind": "expanded_access",
        "summary": "...",
        "substance": "",
        "opened_on": "2024-02-01",
        "opened_precision": "day",
        "closed_on": "",
        "closed_precision": "day",
        "known_until": "",
        "known_until_precision": "day",
        "state": "open",
        "eligibility": "",
        "prescriber_requirements": "",
        "capacity": "",
        "verification_note": "",
        "researched_on": "",
        "researched_precision": "day",
        "verified": "on",
        "sources-TOTAL_FORMS": "1",
        "sources-INITIAL_FORMS": "0",
        "sources-MIN_NUM_FORMS": "1",
        "sources-MAX_NUM_FORMS": "1000",
        "sources-0-url": "https://example.org/p",
        "sources-0-grade": "official",
        "sources-0-title": "Notice",
        "sources-0-publisher": "Regulator",
        "sources-0-published_on": "",
        "sources-0-published_precision": "day",
        "sources-0-note": "",
        "sources-0-original_url": "",
    }
    data.update(overrides)
    return data


def test_it_points_a_programme_closing_before_it_opens_at_the_closing_date(editor_client):
    from regulatory.models import AccessProgramme
    from tests.factories import JurisdictionFactory

    response = editor_client.post(
        reverse("admin:regulatory_accessprogramme_add"), _programme_form(JurisdictionFactory(), closed_on="2024-01-01")
    )

    assert response.status_code == 200
    assert "closed_on" in response.context["adminform"].form.errors
    assert not AccessProgramme.objects.exists()


def test_it_records_reviewed_nothing_new_with_the_editor_and_the_time(editor_client, alice, today_is):
    from regulatory.models import JurisdictionReview
    from tests.factories import JurisdictionFactory

    jurisdiction = JurisdictionFactory()

    response = editor_client.post(
        reverse("admin:regulatory_jurisdiction_changelist"),
        {"action": "reviewed_nothing_new", "_selected_action": [jurisdiction.pk]},
        follow=True,
    )

    assert response.status_code == 200
    review = JurisdictionReview.objects.get(jurisdiction=jurisdiction)
    assert (review.recorded_by, review.reviewed_to) == (alice, today_is)
    jurisdiction.refresh_from_db()
    assert jurisdiction.reviewed_to == today_is


def test_it_points_a_review_date_in_the_future_at_the_field(editor_client, today_is):
    from regulatory.models import JurisdictionReview
    from tests.factories import JurisdictionFactory

    jurisdiction = JurisdictionFactory()

    response = editor_client.post(
        reverse("admin:regulatory_jurisdictionreview_add"),
        {"jurisdiction": jurisdiction.pk, "reviewed_to": (today_is + dt.timedelta(days=1)).isoformat(), "note": ""},
    )

    assert response.status_code == 200
    assert "reviewed_to" in response.context["adminform"].form.errors
    assert not JurisdictionReview.objects.exists()


def test_it_never_shows_the_reviewing_editor_in_public(client, editor_client, alice):
    from regulatory.services import jurisdiction_review_record
    from tests.factories import JurisdictionFactory

    jurisdiction_review_record(jurisdiction=JurisdictionFactory(code="us"), reviewed_to=dt.date(2026, 1, 1), by=alice)

    for url in ("/", "/api/v1/status/", "/api/v1/jurisdictions/"):
        body = client.get(url).content.decode()
        assert alice.username not in body, url
