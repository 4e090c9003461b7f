import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from regulatory.errors import (
    DecisionStateError,
    EditConflict,
    EditNeedsKind,
    EditNeedsKindAndNote,
    EditNeedsNote,
    SlugIsFixed,
)
from regulatory.models import ApprovalStage, Change, ChangeKind, Control, Decision, DecisionState, Jurisdiction
from regulatory.services import (
    decision_delete_draft,
    decision_publish,
    decision_retract,
    decision_update,
)
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


def test_it_writes_a_change_with_the_full_diff_when_publishing(alice):
    decision = DecisionFactory(title="FDA accepts the NDA")

    change = decision_publish(decision=decision, by=alice)

    decision.refresh_from_db()
    assert decision.state == DecisionState.PUBLISHED
    assert decision.published_at is not None
    assert change.kind == ChangeKind.PUBLISH
    assert change.recorded_by == alice
    assert change.diff["title"] == [None, "FDA accepts the NDA"]
    assert change.diff["sources"][1][0]["url"].startswith("https://example.gov/")


def test_it_refuses_to_publish_a_decision_without_a_source():
    decision = DecisionFactory(with_source=False)

    with pytest.raises(ValidationError) as exc:
        decision_publish(decision=decision)

    assert "sources" in exc.value.message_dict
    assert Change.objects.count() == 0
    decision.refresh_from_db()
    assert decision.is_draft


def test_it_refuses_to_publish_twice():
    decision = published_decision()

    with pytest.raises(ValidationError):
        decision_publish(decision=decision)

    assert Change.objects.filter(decision=decision).count() == 1


def test_it_edits_a_draft_without_recording_a_change():
    decision = DecisionFactory()

    change = decision_update(decision=decision, data={"title": "Better title"})

    assert change is None
    assert Change.objects.count() == 0


def test_it_records_a_correction_with_only_the_changed_fields(alice):
    decision = published_decision(announced_on=dt.date(2024, 8, 9))

    change = decision_update(
        decision=decision,
        by=alice,
        data={"announced_on": dt.date(2024, 8, 8)},
        change_kind=ChangeKind.CORRECT,
        note="Wrong day.",
    )

    decision.refresh_from_db()
    assert decision.state == DecisionState.CORRECTED
    assert change.kind == ChangeKind.CORRECT
    assert change.diff == {"announced_on": ["2024-08-09", "2024-08-08"]}
    assert change.note == "Wrong day."


def test_it_records_an_amendment_of_sources():
    decision = published_decision()
    new_source = {"url": "https://www.fda.gov/x", "title": "Letter", "publisher": "FDA", "grade": "official"}

    change = decision_update(
        decision=decision, data={}, sources=[new_source], change_kind=ChangeKind.AMEND, note="Official letter."
    )

    assert change.kind == ChangeKind.AMEND
    assert list(change.diff) == ["sources"]
    assert decision.sources.get().url == "https://www.fda.gov/x"


def test_it_does_not_let_an_edit_remove_every_source_of_a_published_decision():
    decision = published_decision()

    with pytest.raises(ValidationError) as exc:
        decision_update(decision=decision, data={}, sources=[], change_kind=ChangeKind.AMEND, note="Removed.")

    assert "sources" in exc.value.message_dict

    assert decision.sources.count() == 1


def test_it_retracts_with_a_reason_and_keeps_the_row():
    decision = published_decision()

    change = decision_retract(decision=decision, note="Entered against the wrong jurisdiction.")

    decision.refresh_from_db()
    assert decision.state == DecisionState.RETRACTED
    assert change.kind == ChangeKind.RETRACT
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_it_requires_a_reason_to_retract():
    decision = published_decision()

    with pytest.raises(ValidationError):
        decision_retract(decision=decision, note="  ")


def test_it_never_deletes_a_published_decision():
    decision = published_decision()

    with pytest.raises(ValidationError):
        decision_delete_draft(decision=decision)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).delete()

    assert Decision.objects.filter(pk=decision.pk).exists()


def test_it_deletes_a_draft():
    decision = DecisionFactory()

    decision_delete_draft(decision=decision)

    assert not Decision.objects.filter(pk=decision.pk).exists()


def test_it_labels_a_back_dated_decision_as_late_reported():
    old = published_decision(announced_on=dt.date(2020, 1, 1))

    assert old.changes.get().late_reported is True


def test_it_does_not_label_todays_decision_late():
    fresh = published_decision(announced_on=dt.date.today())

    assert fresh.changes.get().late_reported is False


def test_it_rejects_an_effective_date_before_the_announcement_in_the_schema():
    decision = DecisionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(effective_on=dt.date(2000, 1, 1))


def test_it_rejects_an_approval_stage_without_an_effective_date_in_the_schema():
    decision = DecisionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(approval_stage=ApprovalStage.APPROVED, effective_on=None)


def test_it_rejects_a_control_without_an_instrument_in_the_schema():
    decision = DecisionFactory(status="prohibited")

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(control_instrument="")


def test_it_names_the_instrument_field_when_a_control_has_none():
    from django.core.exceptions import ValidationError

    from regulatory.services import decision_update

    decision = DecisionFactory()

    with pytest.raises(ValidationError) as exc:
        decision_update(decision=decision, data={"control": Control.PROHIBITED, "effective_on": decision.announced_on})

    assert "control_instrument" in exc.value.message_dict
    decision.refresh_from_db()
    assert decision.control == ""


def test_it_lists_every_therapy_with_the_substance_of_a_substance_decision():
    from regulatory.services import decision_create
    from tests.factories import JurisdictionFactory

    trd, eol = TherapyFactory(substance="Psilocybin"), TherapyFactory(substance="psilocybin")
    TherapyFactory(substance="MDMA")

    decision = decision_create(
        jurisdiction=JurisdictionFactory(),
        therapies=[],
        kind="scheduling",
        title="Psilocybin in Schedule I",
        summary="...",
        announced_on=dt.date(1970, 10, 27),
        effective_on=dt.date(1971, 5, 1),
        substance="Psilocybin",
        control=Control.PROHIBITED,
        control_instrument="Schedule I, Controlled Substances Act",
        sources=[{"url": "https://example.org/csa", "title": "CSA", "publisher": "X", "grade": "literature"}],
    )

    assert set(decision.therapies.all()) == {trd, eol}


def test_it_records_a_review_with_who_and_when_and_only_moves_the_date_forward(alice):
    from django.core.exceptions import ValidationError

    from regulatory.services import jurisdiction_review_record
    from tests.factories import JurisdictionFactory

    jurisdiction = JurisdictionFactory()
    review = jurisdiction_review_record(jurisdiction=jurisdiction, reviewed_to=dt.date(2026, 7, 31), by=alice)
    jurisdiction_review_record(jurisdiction=jurisdiction, reviewed_to=dt.date(2026, 1, 1), by=alice)

    jurisdiction.refresh_from_db()
    assert jurisdiction.reviewed_to == dt.date(2026, 7, 31)
    assert (review.recorded_by, review.from_dataset) == (alice, False)
    assert review.recorded_at is not None
    with pytest.raises(ValidationError) as exc:
        jurisdiction_review_record(jurisdiction=jurisdiction, reviewed_to=dt.date.today() + dt.timedelta(days=1))
    assert "reviewed_to" in exc.value.message_dict


def test_it_rejects_a_duplicate_slug_in_the_schema():
    DecisionFactory(slug="us-nda")

    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionFactory(slug="us-nda")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the commit-time guard is PostgreSQL's")
def test_it_rejects_at_commit_a_published_decision_whose_sources_were_deleted_behind_the_services():
    decision = published_decision()

    with pytest.raises(IntegrityError), transaction.atomic():
        decision.sources.all().delete()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert decision.sources.count() == 1


def test_it_attaches_date_errors_to_the_field_an_editor_must_fix():
    decision = DecisionFactory.build(
        jurisdiction=JurisdictionFactory(),
        regulator=None,
        announced_on=dt.date(2024, 2, 9),
        effective_on=dt.date(2024, 1, 1),
    )

    with pytest.raises(ValidationError) as exc:
        decision.full_clean(exclude=["therapies"])

    assert "effective_on" in exc.value.message_dict


def test_it_does_not_label_an_amendment_of_an_old_decision_late():
    old = published_decision(announced_on=dt.date(2017, 8, 1))

    change = decision_update(decision=old, data={"title": "Typo fixed"}, change_kind=ChangeKind.CORRECT, note="Typo.")

    assert change.late_reported is False


def test_it_judges_lateness_from_the_end_of_a_month_precision_announcement(time_machine):
    from regulatory.models import Precision

    time_machine.move_to(dt.datetime(2024, 9, 3, 12, tzinfo=dt.UTC))
    # Announced "Aug 2024": possibly on the 31st, so not late on 3 Sep.
    decision = published_decision(announced_on=dt.date(2024, 8, 1), announced_precision=Precision.MONTH)

    assert decision.changes.get().late_reported is False


# --- the rules of an edit, owned by the services ------------------------------------


def test_it_refuses_an_edit_of_a_published_decision_without_kind_or_note_and_writes_nothing():
    decision = published_decision(title="Old title")

    with pytest.raises(EditNeedsKindAndNote) as exc:
        decision_update(decision=decision, data={"title": "New title"})

    # One error naming both fields, catchable as either.
    assert isinstance(exc.value, EditNeedsKind) and isinstance(exc.value, EditNeedsNote)
    assert set(exc.value.message_dict) == {"change_kind", "note"}
    decision.refresh_from_db()
    assert (decision.title, decision.state) == ("Old title", DecisionState.PUBLISHED)
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_refuses_a_correction_without_a_public_note():
    decision = published_decision(title="Old title")

    with pytest.raises(EditNeedsNote) as exc:
        decision_update(decision=decision, data={"title": "New title"}, change_kind=ChangeKind.CORRECT, note="  ")

    assert not isinstance(exc.value, EditNeedsKind)
    assert set(exc.value.message_dict) == {"note"}
    decision.refresh_from_db()
    assert decision.title == "Old title"


def test_it_refuses_an_edit_recorded_as_anything_but_an_amendment_or_a_correction():
    decision = published_decision()

    with pytest.raises(EditNeedsKind) as exc:
        decision_update(
            decision=decision, data={"title": "New title"}, change_kind=ChangeKind.RETRACT, note="Meant to retract."
        )

    assert set(exc.value.message_dict) == {"change_kind"}
    decision.refresh_from_db()
    assert decision.state == DecisionState.PUBLISHED


def test_it_refuses_sources_only_edits_of_a_published_decision_without_kind_and_note():
    decision = published_decision()
    new_source = {"url": "https://www.fda.gov/x", "title": "Letter", "publisher": "FDA", "grade": "official"}

    with pytest.raises(EditNeedsKind):
        decision_update(decision=decision, data={}, sources=[new_source])

    assert decision.sources.get().url != "https://www.fda.gov/x"


def test_it_asks_nothing_of_an_edit_that_changes_nothing():
    decision = published_decision()

    change = decision_update(decision=decision, data={"title": decision.title})

    assert change is None
    assert Change.objects.filter(decision=decision).count() == 1


def test_it_raises_a_state_error_for_an_edit_of_a_retracted_decision():
    decision = published_decision(title="Old title")
    decision_retract(decision=decision, note="Duplicate.")

    with pytest.raises(DecisionStateError):
        decision_update(decision=decision, data={"title": "New"}, change_kind=ChangeKind.AMEND, note="n")

    decision.refresh_from_db()
    assert decision.title == "Old title"


def test_it_raises_state_errors_for_publishing_twice_retracting_a_draft_and_deleting_a_published_decision():
    published, draft = published_decision(), DecisionFactory()

    with pytest.raises(DecisionStateError):
        decision_publish(decision=published)
    with pytest.raises(DecisionStateError):
        decision_retract(decision=draft, note="Never published.")
    with pytest.raises(DecisionStateError):
        decision_delete_draft(decision=published)

    draft.refresh_from_db()
    assert draft.is_draft
    assert Change.objects.filter(decision=published).count() == 1


# --- versions: every write moves it on, a stale one is refused --------------------------


def test_it_moves_the_version_on_with_every_write():
    decision = DecisionFactory()
    versions = [decision.version]

    decision_update(decision=decision, data={"title": "Draft title"}, version=versions[-1])
    versions.append(Decision.objects.get(pk=decision.pk).version)
    decision_publish(decision=decision, version=versions[-1])
    versions.append(Decision.objects.get(pk=decision.pk).version)
    decision_update(
        decision=decision, data={"title": "Amended"}, change_kind=ChangeKind.AMEND, note="News.", version=versions[-1]
    )
    versions.append(Decision.objects.get(pk=decision.pk).version)
    decision_retract(decision=decision, note="Wrong.", version=versions[-1])
    versions.append(Decision.objects.get(pk=decision.pk).version)

    assert versions == [1, 2, 3, 4, 5]


def test_it_refuses_an_edit_based_on_a_version_someone_else_has_changed(alice):
    decision = published_decision(title="Original")
    opened_at = decision.version
    decision_update(
        decision=decision,
        by=alice,
        data={"title": "Alice's title"},
        change_kind=ChangeKind.CORRECT,
        note="Typo.",
        version=opened_at,
    )

    with pytest.raises(EditConflict) as exc:
        decision_update(
            decision=decision,
            data={"summary": "Bob's summary"},
            change_kind=ChangeKind.AMEND,
            note="More detail.",
            version=opened_at,
        )

    assert (exc.value.expected, exc.value.current) == (opened_at, opened_at + 1)
    assert "Someone else changed this decision since you opened it" in exc.value.messages[0]
    decision.refresh_from_db()
    assert decision.title == "Alice's title"
    assert decision.summary != "Bob's summary"
    assert Change.objects.filter(decision=decision).count() == 2


def test_it_refuses_a_stale_retraction_and_a_stale_publish():
    live, draft = published_decision(), DecisionFactory()
    stale_live, stale_draft = live.version, draft.version
    decision_update(decision=live, data={"title": "Moved on"}, change_kind=ChangeKind.AMEND, note="News.")
    decision_update(decision=draft, data={"title": "Moved on"})

    with pytest.raises(EditConflict):
        decision_retract(decision=live, note="Wrong.", version=stale_live)
    with pytest.raises(EditConflict):
        decision_publish(decision=draft, version=stale_draft)

    live.refresh_from_db()
    draft.refresh_from_db()
    assert (live.state, draft.state) == (DecisionState.AMENDED, DecisionState.DRAFT)


# --- slugs, sources, jurisdictions ---------------------------------------------------------


def test_it_lets_a_draft_change_its_slug_but_never_a_published_decision():
    draft, live = DecisionFactory(slug="draft-slug"), published_decision(slug="cited-slug")

    decision_update(decision=draft, data={}, slug="better-slug")
    with pytest.raises(SlugIsFixed) as exc:
        decision_update(decision=live, data={}, slug="other-slug", change_kind=ChangeKind.CORRECT, note="Rename.")

    assert "slug" in exc.value.message_dict
    draft.refresh_from_db()
    live.refresh_from_db()
    assert (draft.slug, live.slug) == ("better-slug", "cited-slug")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the slug trigger is PostgreSQL's")
def test_it_rejects_a_slug_change_of_a_published_decision_in_the_schema():
    live = published_decision(slug="cited-slug")

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=live.pk).update(slug="renamed")

    assert Decision.objects.get(pk=live.pk).slug == "cited-slug"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.gov/letter.pdf", "http:///letter", "data:text/html,hi"]
)
def test_it_refuses_a_source_url_that_is_not_a_web_address_with_a_host(url):
    decision = DecisionFactory()
    source = {"url": url, "title": "Letter", "publisher": "FDA", "grade": "official"}

    with pytest.raises(ValidationError) as exc:
        decision_update(decision=decision, data={}, sources=[source])

    assert "url" in exc.value.message_dict
    assert decision.sources.get().url.startswith("https://")


def test_it_keeps_the_row_of_a_source_whose_url_stays():
    decision = published_decision()
    source = decision.sources.get()
    edited = {"url": source.url, "title": "Clearer title", "publisher": source.publisher, "grade": source.grade}

    change = decision_update(
        decision=decision, data={}, sources=[edited], change_kind=ChangeKind.CORRECT, note="Title of the source."
    )

    assert decision.sources.get().pk == source.pk
    assert decision.sources.get().title == "Clearer title"
    assert list(change.diff) == ["sources"]


def test_it_refuses_a_jurisdiction_as_its_own_parent():
    us = JurisdictionFactory(code="us")
    us.parent = us

    with pytest.raises(ValidationError) as exc:
        us.full_clean()

    assert "parent" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Jurisdiction.objects.filter(pk=us.pk).update(parent=us)


def test_it_refuses_a_cycle_of_parents():
    eu = JurisdictionFactory(code="eu")
    de = JurisdictionFactory(code="de", parent=eu)
    eu.parent = de

    with pytest.raises(ValidationError) as exc:
        eu.full_clean()

    assert "eu → de → eu" in exc.value.message_dict["parent"][0]
