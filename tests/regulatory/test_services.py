import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from regulatory.models import ApprovalStage, Change, ChangeKind, Control, Decision, DecisionState
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

    change = decision_update(decision=decision, by=alice, data={"announced_on": dt.date(2024, 8, 8)},
                             change_kind=ChangeKind.CORRECT, note="Wrong day.")

    decision.refresh_from_db()
    assert decision.state == DecisionState.CORRECTED
    assert change.kind == ChangeKind.CORRECT
    assert change.diff == {"announced_on": ["2024-08-09", "2024-08-08"]}
    assert change.note == "Wrong day."


def test_it_records_an_amendment_of_sources():
    decision = published_decision()
    new_source = {"url": "https://www.fda.gov/x", "title": "Letter", "publisher": "FDA", "grade": "official"}

    change = decision_update(decision=decision, data={}, sources=[new_source])

    assert change.kind == ChangeKind.AMEND
    assert list(change.diff) == ["sources"]
    assert decision.sources.get().url == "https://www.fda.gov/x"


def test_it_does_not_let_an_edit_remove_every_source_of_a_published_decision():
    decision = published_decision()

    with pytest.raises(ValidationError):
        decision_update(decision=decision, data={}, sources=[])

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
    from tests.factories import JurisdictionFactory, TherapyFactory

    trd, eol = TherapyFactory(substance="Psilocybin"), TherapyFactory(substance="psilocybin")
    TherapyFactory(substance="MDMA")

    decision = decision_create(
        jurisdiction=JurisdictionFactory(), therapies=[], kind="scheduling", title="Psilocybin in Schedule I",
        summary="...", announced_on=dt.date(1970, 10, 27), effective_on=dt.date(1971, 5, 1), substance="Psilocybin",
        control=Control.PROHIBITED, control_instrument="Schedule I, Controlled Substances Act",
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
        jurisdiction=JurisdictionFactory(), regulator=None,
        announced_on=dt.date(2024, 2, 9), effective_on=dt.date(2024, 1, 1),
    )

    with pytest.raises(ValidationError) as exc:
        decision.full_clean(exclude=["therapies"])

    assert "effective_on" in exc.value.message_dict


def test_it_does_not_label_an_amendment_of_an_old_decision_late():
    old = published_decision(announced_on=dt.date(2017, 8, 1))

    change = decision_update(decision=old, data={"title": "Typo fixed"}, change_kind=ChangeKind.CORRECT,
                             note="Typo.")

    assert change.late_reported is False


def test_it_judges_lateness_from_the_end_of_a_month_precision_announcement(time_machine):
    from regulatory.models import Precision

    time_machine.move_to(dt.datetime(2024, 9, 3, 12, tzinfo=dt.timezone.utc))
    # Announced "Aug 2024": possibly on the 31st, so not late on 3 Sep.
    decision = published_decision(announced_on=dt.date(2024, 8, 1), announced_precision=Precision.MONTH)

    assert decision.changes.get().late_reported is False
