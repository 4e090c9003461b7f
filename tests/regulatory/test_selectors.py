import datetime as dt

import pytest

from regulatory.models import AccessProgramme, ControlBaseline, DecisionKind, Precision, ProgrammeKind
from regulatory.selectors import status_for, status_matrix
from regulatory.services import decision_retract, jurisdiction_review_record
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


def _baseline(jurisdiction, substance="MDMA", *, since=None, instrument="Schedule 9, Poisons Standard", **kwargs):
    from regulatory.models import BaselineSource

    baseline = ControlBaseline.objects.create(
        jurisdiction=jurisdiction,
        substance=substance,
        control="prohibited",
        instrument=instrument,
        since_on=since,
        **kwargs,
    )
    BaselineSource.objects.create(
        baseline=baseline, url="https://example.gov/list", title="List", publisher="Regulator", grade="official"
    )
    return baseline


def _programme(jurisdiction, therapies=(), **kwargs):
    from regulatory.models import ProgrammeSource

    fields = {
        "slug": f"programme-{AccessProgramme.objects.count()}",
        "name": "A programme",
        "kind": ProgrammeKind.EXPANDED_ACCESS,
        "summary": "...",
        "state": "open",
        "opened_on": dt.date(2019, 12, 20),
    } | kwargs
    programme = AccessProgramme.objects.create(jurisdiction=jurisdiction, **fields)
    programme.therapies.set(therapies)
    ProgrammeSource.objects.create(
        programme=programme,
        url=f"https://sponsor.example/{programme.slug}",
        title="EA",
        publisher="Sponsor",
        grade="sponsor",
    )
    return programme


def _cell(jurisdiction, therapy, on: str):
    return status_for(jurisdiction=jurisdiction, therapy=therapy, as_of=dt.date.fromisoformat(on))


@pytest.fixture
def us_mdma(db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.ACCEPTANCE,
        announced_on=dt.date(2024, 2, 9),
        status="under_review",
    )
    crl = published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.REFUSAL,
        announced_on=dt.date(2024, 8, 9),
        status="not_approved",
    )
    return us, therapy, crl


def test_it_gives_the_stage_set_by_the_latest_effective_decision(us_mdma):
    us, therapy, crl = us_mdma

    assert _cell(us, therapy, "2024-03-01").approval_stage.value == "under_review"
    on_crl = _cell(us, therapy, "2024-08-10")
    assert on_crl.approval_stage.value == "not_approved"
    assert on_crl.since == dt.date(2024, 8, 9)
    assert on_crl.decision_id == crl.pk
    assert (on_crl.headline, on_crl.tone) == ("Not approved", "refused")


def test_it_has_no_decision_before_the_first_one(us_mdma):
    us, therapy, _ = us_mdma

    cell = _cell(us, therapy, "2020-01-01")
    assert (cell.control, cell.approval_stage, cell.access) == (None, None, ())
    assert cell.state == "not_researched"


def test_it_tells_not_researched_from_no_decision_by_coverage(us_mdma):
    us, therapy, _ = us_mdma
    us.covers_substances = ["mdma"]
    us.save()

    cell = _cell(us, therapy, "2020-01-01")

    assert (cell.state, cell.headline, cell.tone) == ("no_decision", "No decision recorded", "none")


def test_it_ignores_retracted_decisions(us_mdma):
    us, therapy, crl = us_mdma

    decision_retract(decision=crl, note="Test")

    assert _cell(us, therapy, "2024-08-10").approval_stage.value == "under_review"


def test_it_ignores_drafts(us_mdma):
    from tests.factories import DecisionFactory

    us, therapy, _ = us_mdma
    DecisionFactory(jurisdiction=us, therapies=[therapy], announced_on=dt.date(2024, 9, 1), status="approved")

    assert _cell(us, therapy, "2025-01-01").approval_stage.value == "not_approved"


def test_it_waits_for_the_effective_date_not_the_announcement(db):
    au, therapy = JurisdictionFactory(code="au"), TherapyFactory(slug="mdma-ptsd")
    published_decision(
        jurisdiction=au,
        therapies=[therapy],
        kind=DecisionKind.SCHEDULING,
        announced_on=dt.date(2023, 2, 3),
        effective_on=dt.date(2023, 7, 1),
        control="medical_use_permitted",
        control_instrument="Schedule 8, Poisons Standard",
    )

    assert _cell(au, therapy, "2023-06-30").control is None
    assert _cell(au, therapy, "2023-07-01").control.value == "medical_use_permitted"


def test_it_keeps_control_and_stage_apart(us_mdma):
    us, therapy, _ = us_mdma
    published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.SCHEDULING,
        announced_on=dt.date(1985, 5, 31),
        effective_on=dt.date(1985, 7, 1),
        status="prohibited",
    )

    cell = _cell(us, therapy, "2024-03-01")

    assert cell.control.value == "prohibited"
    assert cell.approval_stage.value == "under_review"
    assert cell.headline == "Under review · Schedule I"
    assert cell.tone == "review"


def test_it_uses_the_baseline_before_the_first_control_decision_and_the_decision_after(db):
    au, therapy = JurisdictionFactory(code="au"), TherapyFactory(slug="mdma-ptsd", substance="MDMA")
    baseline = _baseline(au, "mdma", known_before=dt.date(2020, 7, 1))
    published_decision(
        jurisdiction=au,
        therapies=[therapy],
        kind=DecisionKind.SCHEDULING,
        announced_on=dt.date(2023, 2, 3),
        effective_on=dt.date(2023, 7, 1),
        control="medical_use_permitted",
        control_instrument="Schedule 8, Poisons Standard",
    )

    before = _cell(au, therapy, "2020-06-01")
    after = _cell(au, therapy, "2023-07-02")

    assert (before.control.value, before.control.baseline_id, before.headline) == (
        "prohibited",
        baseline.pk,
        "Schedule 9",
    )
    assert before.control.since_display == "in force before 1 Jul 2020"
    assert before.certain is False  # the baseline's start date is unknown
    assert before.provenance.best_grade == "official"
    assert (after.control.value, after.control.baseline_id) == ("medical_use_permitted", None)
    assert after.tone == "permitted"


def test_it_applies_a_dated_baseline_only_from_its_start(db):
    gb, therapy = JurisdictionFactory(code="gb"), TherapyFactory(substance="Psilocybin")
    _baseline(gb, "Psilocybin", since=dt.date(1973, 7, 1), instrument="Class A, Misuse of Drugs Act 1971")

    assert _cell(gb, therapy, "1973-06-30").control is None
    cell = _cell(gb, therapy, "2010-01-01")
    assert (cell.headline, cell.tone, cell.certain) == ("Class A", "prohibited", True)


def test_a_capped_protocol_is_a_route_but_never_the_access_colour(db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory()
    published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.DESIGNATION,
        announced_on=dt.date(2017, 8, 26),
        effective_on=dt.date(2017, 8, 26),
        status="investigational",
    )
    _programme(us, [therapy], capped=True, capacity="50 patients", state="closed")

    cell = _cell(us, therapy, "2021-06-01")

    assert [route.state for route in cell.access] == ["closed_date_unknown"]
    assert cell.access[0].scale == "50 patients"
    assert cell.headline == "Investigational · EA protocol (closed, date unknown)"
    assert cell.tone == "investigational"
    assert cell.provenance.sources == 2  # the designation's and the programme's


def test_an_open_uncapped_route_takes_the_access_colour(db):
    au, therapy = JurisdictionFactory(code="au"), TherapyFactory()
    _programme(au, [therapy], kind=ProgrammeKind.AUTHORISED_PRESCRIBER, opened_on=dt.date(2023, 7, 1))

    assert _cell(au, therapy, "2023-06-30").access == ()
    cell = _cell(au, therapy, "2024-01-01")
    assert (cell.headline, cell.tone) == ("Authorised prescribers (open)", "access")


def test_a_route_reads_unknown_after_the_date_it_is_known_open_to(db):
    de, therapy = JurisdictionFactory(code="de"), TherapyFactory()
    _programme(
        de,
        [therapy],
        kind=ProgrammeKind.COMPASSIONATE_USE,
        opened_on=dt.date(2025, 7, 11),
        known_until=dt.date(2026, 7, 11),
    )

    assert _cell(de, therapy, "2026-07-11").access[0].state == "open"
    after = _cell(de, therapy, "2026-07-12")
    assert after.access[0].state == "unknown_after"
    assert after.headline == "Compassionate use (unknown after 11 Jul 2026)"
    assert after.tone != "access"


def test_a_route_is_closed_from_its_closing_date(db):
    us, therapy = JurisdictionFactory(), TherapyFactory()
    _programme(us, [therapy], closed_on=dt.date(2024, 2, 8), state="closed")

    assert _cell(us, therapy, "2024-02-07").access[0].state == "open"
    assert _cell(us, therapy, "2024-02-08").access[0].label == "EA protocol (closed)"


def test_a_programme_for_a_substance_reaches_its_therapies_and_a_general_one_none(db):
    us_or, psilocybin, mdma = (
        JurisdictionFactory(code="us-or"),
        TherapyFactory(substance="Psilocybin"),
        TherapyFactory(),
    )
    _programme(us_or, substance="psilocybin", kind=ProgrammeKind.SUPERVISED_ADULT_USE, opened_on=dt.date(2023, 5, 5))
    _programme(us_or, kind=ProgrammeKind.RIGHT_TO_TRY, opened_on=dt.date(2018, 5, 30))  # no therapy, no substance
    _programme(us_or, [psilocybin], kind=ProgrammeKind.REVIEW_PATHWAY, opened_on=dt.date(2025, 6, 17))

    assert [r.kind for r in _cell(us_or, psilocybin, "2026-01-01").access] == ["supervised_adult_use"]
    assert _cell(us_or, mdma, "2026-01-01").access == ()


def test_a_date_known_to_the_month_leaves_the_cell_uncertain_inside_that_month(db):
    cz, therapy = JurisdictionFactory(), TherapyFactory()
    published_decision(
        jurisdiction=cz,
        therapies=[therapy],
        announced_on=dt.date(2025, 7, 1),
        announced_precision=Precision.MONTH,
        effective_on=dt.date(2025, 7, 1),
        effective_precision=Precision.MONTH,
        status="approved",
    )

    inside, after = _cell(cz, therapy, "2025-07-20"), _cell(cz, therapy, "2025-08-01")

    assert (inside.certain, inside.uncertain_because) == (False, ("approval stage",))
    assert after.certain is True


def test_provenance_gives_the_best_grade_the_count_and_the_unverified_mark(db):
    from regulatory.models import Source

    jurisdiction, therapy = JurisdictionFactory(), TherapyFactory()
    decision = published_decision(
        jurisdiction=jurisdiction, therapies=[therapy], status="investigational", verified=False
    )
    decision.sources.update(grade="secondary")
    Source.objects.create(
        decision=decision,
        url="https://mirror.example/fr",
        title="FR copy",
        publisher="Mirror",
        grade="official",
        is_copy=True,
    )

    provenance = _cell(jurisdiction, therapy, "2025-01-01").provenance

    assert (provenance.best_grade, provenance.best_is_copy, provenance.sources, provenance.unverified) == (
        "official",
        True,
        2,
        True,
    )
    assert provenance.label == "official (copy)"


def test_cells_are_stale_when_the_jurisdiction_was_not_reviewed_for_90_days(db):
    jurisdiction, therapy = JurisdictionFactory(), TherapyFactory()
    assert _cell(jurisdiction, therapy, "2026-01-01").stale is True  # never reviewed
    jurisdiction_review_record(jurisdiction=jurisdiction, reviewed_to=dt.date(2026, 7, 31))

    assert _cell(jurisdiction, therapy, "2026-10-29").stale is False
    assert _cell(jurisdiction, therapy, "2026-10-30").stale is True
    assert _cell(jurisdiction, therapy, "2021-01-01").stale is False  # a past date reviewed since
    assert _cell(jurisdiction, therapy, "2026-10-30").reviewed_to == dt.date(2026, 7, 31)


@pytest.mark.parametrize("pairs", [2, 12])
def test_it_builds_the_whole_matrix_in_a_constant_number_of_queries(db, django_assert_num_queries, pairs):
    therapies = [TherapyFactory(substance="Psilocybin") for _ in range(pairs // 2)]
    for _ in range(2):
        jurisdiction = JurisdictionFactory()
        _baseline(jurisdiction, "Psilocybin")
        for therapy in therapies:
            published_decision(jurisdiction=jurisdiction, therapies=[therapy], status="investigational")
            published_decision(jurisdiction=jurisdiction, therapies=[therapy], status="prohibited")
            _programme(jurisdiction, [therapy])

    # jurisdictions, therapies; coverage, control, stage, baselines,
    # programmes and their therapies; the three source tables.
    with django_assert_num_queries(11):
        matrix = status_matrix(as_of=dt.date(2025, 1, 1))

    assert len(matrix) == pairs
    assert all(cell.control and cell.approval_stage and cell.access for cell in matrix.values())
