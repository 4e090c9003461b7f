"""The shipped historical dataset (regulatory/data/history.yaml), loaded
through the real loader: key facts an analyst relies on stay pinned."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    ControlBaseline,
    DatasetRelease,
    Decision,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeSource,
    Regulator,
    Source,
    Therapy,
)
from regulatory.selectors import status_for

pytestmark = pytest.mark.django_db

CORPORATE_ROWS = ["US-17", "US-23", "US-24", "US-26", "US-27", "US-29"]


def _decision(key: str) -> Decision:
    return Decision.objects.get(dataset_key=key)


# --- counts and completeness ------------------------------------------------


def test_it_loads_at_least_60_decisions(dataset):
    assert Decision.objects.count() >= 60


def test_it_has_decisions_in_at_least_8_jurisdictions(dataset):
    codes = set(Decision.objects.values_list("jurisdiction__code", flat=True))
    assert len(codes) >= 8
    assert {"us", "au", "eu", "de", "cz", "nl", "ch", "ca", "nz", "gb"} <= codes


def test_it_gives_every_decision_at_least_one_source(dataset):
    assert not Decision.objects.filter(sources__isnull=True).exists()


def test_it_gives_every_programme_at_least_one_source(dataset):
    assert AccessProgramme.objects.exists()
    assert not AccessProgramme.objects.filter(sources__isnull=True).exists()


def test_it_publishes_every_loaded_decision_as_an_import(dataset):
    assert set(Decision.objects.values_list("state", flat=True)) == {DecisionState.PUBLISHED}
    for decision in Decision.objects.prefetch_related("changes"):
        assert [c.is_import for c in decision.changes.all()] == [True]


def test_it_includes_the_required_therapies(dataset):
    slugs = set(Therapy.objects.values_list("slug", flat=True))
    assert {"mdma-ptsd", "psilocybin-trd", "psilocybin-mdd", "mdma-mdd"} <= slugs
    assert Decision.objects.filter(therapies__slug="mdma-mdd").exists()


def test_it_nests_member_states_under_the_eu(dataset):
    for code in ("de", "cz", "nl"):
        assert Jurisdiction.objects.get(code=code).parent.code == "eu"


def test_it_leaves_out_corporate_rows(dataset):
    assert not Decision.objects.filter(dataset_key__in=CORPORATE_ROWS).exists()
    assert not Decision.objects.filter(title__icontains="Resilient Pharmaceuticals").exists()


# --- the three dimensions: control, approval stage, access routes -----------------


def test_it_sets_no_single_status_word_anywhere(dataset):
    # The file's old one-word status is gone: every status-setting row names its
    # dimension, and a control names its instrument.
    for decision in Decision.objects.exclude(control=""):
        assert decision.control_instrument, decision.dataset_key
        assert decision.effective_on, decision.dataset_key
    assert not Decision.objects.exclude(approval_stage="").filter(effective_on=None).exists()


def test_it_has_us_mdma_ptsd_under_review_then_not_approved(dataset):
    acceptance, refusal = _decision("US-18"), _decision("US-21")
    assert (acceptance.approval_stage, acceptance.effective_on) == ("under_review", dt.date(2024, 2, 9))
    assert (refusal.approval_stage, refusal.effective_on) == ("not_approved", dt.date(2024, 8, 9))


def test_it_makes_us_mdma_ptsd_investigational_from_its_breakthrough_designation(dataset):
    btd = _decision("US-10")
    assert (btd.approval_stage, btd.effective_on) == ("investigational", dt.date(2017, 8, 16))


@pytest.mark.parametrize(
    ("key", "therapy", "day"),
    [
        ("US-35", "psilocybin-trd", dt.date(2018, 10, 23)),
        ("US-36", "psilocybin-mdd", dt.date(2019, 11, 22)),
    ],
)
def test_it_sets_us_psilocybin_approval_stage_from_its_designations(dataset, key, therapy, day):
    designation = _decision(key)
    assert (designation.approval_stage, designation.effective_on) == ("investigational", day)
    assert list(designation.therapies.values_list("slug", flat=True)) == [therapy]


def test_it_never_records_a_later_us_psilocybin_stage_than_investigational(dataset):
    # The rolling NDA for COMP360 was still to be completed (facts 14.5).
    stages = set(
        Decision.objects.filter(jurisdiction__code="us", therapies__substance="Psilocybin")
        .exclude(approval_stage="")
        .values_list("approval_stage", flat=True)
    )
    assert stages == {"investigational"}


def test_it_controls_us_psilocybin_as_a_substance_from_the_controlled_substances_act(dataset):
    csa = _decision("US-32")
    assert (csa.substance, csa.control, csa.effective_on) == ("Psilocybin", "prohibited", dt.date(1971, 5, 1))
    assert csa.control_instrument.startswith("Schedule I, Controlled Substances Act")
    assert set(csa.therapies.values_list("slug", flat=True)) == {"psilocybin-trd", "psilocybin-mdd", "psilocybin-eol"}


def test_it_records_the_us_mdma_expanded_access_protocol_as_a_capped_closed_route(dataset):
    protocol = AccessProgramme.objects.get(slug="us-mdma-expanded-access")
    assert (protocol.kind, protocol.state, protocol.capped) == ("expanded_access", "closed", True)
    assert (protocol.opened_on, protocol.closed_on) == (dt.date(2019, 12, 20), None)
    assert "50 patients" in protocol.capacity
    go_ahead = _decision("US-13")
    assert (go_ahead.control, go_ahead.approval_stage) == ("", "")
    assert go_ahead.access_programme == protocol


def test_it_moves_australian_mdma_and_psilocybine_to_schedule_8_only_from_1_july_2023(dataset):
    final = _decision("AU-8")
    assert (final.announced_on, final.effective_on) == (dt.date(2023, 2, 3), dt.date(2023, 7, 1))
    assert final.control == "medical_use_permitted"
    assert final.control_instrument.startswith("Schedule 8, Poisons Standard")
    assert set(final.therapies.values_list("slug", flat=True)) == {"mdma-ptsd", "psilocybin-trd"}
    assert final.access_programme.slug == "au-authorised-prescriber-mdma-psilocybine"
    assert AccessProgramme.objects.get(slug="au-authorised-prescriber-mdma-psilocybine").opened_on == dt.date(
        2023, 7, 1
    )


def test_it_keeps_other_australian_uses_in_schedule_9(dataset):
    # No decision permits MDMA or psilocybin for depression: the Schedule 9
    # baselines stay in force for those therapies.
    assert (
        not Decision.objects.filter(jurisdiction__code="au", therapies__slug__in=["psilocybin-mdd", "mdma-mdd"])
        .exclude(control="")
        .exists()
    )
    for substance in ("MDMA", "Psilocybin"):
        baseline = ControlBaseline.objects.get(jurisdiction__code="au", substance=substance)
        assert baseline.control == "prohibited" and baseline.instrument.startswith("Schedule 9, Poisons Standard")


def test_it_never_records_an_approval(dataset):
    assert not Decision.objects.filter(approval_stage="approved").exists()
    assert not Decision.objects.filter(kind="approval").exists()


def test_it_sets_no_dimension_at_eu_level(dataset):
    eu = Decision.objects.filter(jurisdiction__code="eu")
    assert eu.exists()
    assert not eu.exclude(control="", approval_stage="").exists()


def test_it_keeps_every_effective_date_on_or_after_the_announcement(dataset):
    for decision in Decision.objects.exclude(effective_on=None):
        assert decision.effective_on >= decision.announced_on, decision.dataset_key


# --- date precision -------------------------------------------------------------


def test_it_dates_the_us_breakthrough_designation_to_its_grant_not_its_announcement(dataset):
    btd = _decision("US-10")
    assert btd.kind == "designation"
    assert (btd.announced_on, btd.announced_precision) == (dt.date(2017, 8, 16), Precision.DAY)
    assert "26 Aug" in btd.verification_note or "26 August" in btd.summary


def test_it_records_the_spa_agreement_as_a_separate_earlier_event(dataset):
    spa = _decision("A3")
    assert spa.announced_on == dt.date(2017, 7, 28)
    assert spa.announced_on < _decision("US-10").announced_on
    assert "Special Protocol Assessment" not in _decision("US-10").title


def test_it_keeps_month_precision_where_sources_disagree_on_the_day(dataset):
    report = _decision("UK-2")
    assert (report.announced_on, report.announced_precision) == (dt.date(2023, 8, 1), Precision.MONTH)
    assert _decision("CZ-3").announced_precision == Precision.MONTH


def test_it_keeps_month_precision_for_the_first_australian_final_decision(dataset):
    final = _decision("AU-5")
    assert (final.announced_precision, final.effective_precision) == (Precision.MONTH, Precision.MONTH)
    assert final.effective_on == dt.date(2021, 12, 1)


def test_it_keeps_year_precision_where_only_the_year_is_known(dataset):
    assert _decision("US-15").announced_precision == Precision.YEAR
    assert _decision("CH-2").effective_precision == Precision.YEAR


# --- verification -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["US-13", "US-15", "AU-5"])
def test_it_marks_rows_with_a_detail_from_memory_as_unverified(dataset, key):
    decision = _decision(key)
    assert decision.verified is False
    assert decision.verification_note


@pytest.mark.parametrize("key", ["US-42B", "US-3"])
def test_it_marks_weakly_sourced_rows_as_unverified(dataset, key):
    decision = _decision(key)
    assert decision.verified is False
    assert decision.verification_note


@pytest.mark.parametrize("key", ["US-5", "US-32", "UK-1", "CA-6", "CZ-4"])
def test_it_verifies_rows_the_december_2026_audit_confirmed(dataset, key):
    assert _decision(key).verified is True


def test_it_leaves_out_weak_rows_it_could_not_support(dataset):
    assert not Decision.objects.filter(dataset_key__in=["AU-13"]).exists()


def test_it_words_both_advisory_committee_votes_as_the_questions_were_put(dataset):
    vote = _decision("US-20")
    assert vote.kind == "advisory_vote"
    assert "the data show the treatment is effective" in vote.summary and "2 yes, 9 no" in vote.summary
    assert "benefits outweigh its risks" in vote.summary and "1 yes, 10 no" in vote.summary
    assert "had not been shown effective" not in vote.summary


# --- other jurisdictions ---------------------------------------------------------


def test_it_records_the_swiss_limited_medical_use_programme(dataset):
    programme = AccessProgramme.objects.get(slug="ch-limited-medical-use")
    assert (programme.kind, programme.state, programme.regulator.code) == ("limited_medical_use", "open", "bag")
    assert (programme.opened_on, programme.opened_precision) == (dt.date(2014, 1, 1), Precision.YEAR)
    assert _decision("CH-2").access_programme == programme


def test_it_records_the_canadian_special_access_program_reopening(dataset):
    programme = AccessProgramme.objects.get(slug="ca-special-access-program")
    assert (programme.kind, programme.opened_on) == ("special_access", dt.date(2022, 1, 5))
    assert {"mdma-ptsd", "psilocybin-trd"} <= set(programme.therapies.values_list("slug", flat=True))
    reopening = _decision("CA-4")
    assert reopening.kind == "access_programme"
    assert reopening.access_programme == programme


def test_it_records_the_german_programme_as_unknown_after_its_listed_end(dataset):
    programme = AccessProgramme.objects.get(slug="de-psilocybin-compassionate-use")
    assert (programme.opened_on, programme.known_until, programme.closed_on) == (
        dt.date(2025, 7, 11),
        dt.date(2026, 7, 11),
        None,
    )
    assert programme.regulator.code == "bfarm"
    assert _decision("DE-1").access_programme == programme


def test_it_records_czech_medical_psilocybin_from_2026(dataset):
    exception = _decision("CZ-5")
    assert (exception.control, exception.effective_on) == ("medical_use_permitted", dt.date(2026, 1, 1))
    assert list(exception.therapies.values_list("slug", flat=True)) == ["psilocybin-trd"]
    baseline = ControlBaseline.objects.get(jurisdiction__code="cz", substance="Psilocybin")
    assert (baseline.control, baseline.since_on) == ("prohibited", None)


def test_it_dates_the_new_zealand_authorisation_to_the_ministerial_announcement(dataset):
    authorisation = _decision("NZ-1")
    assert authorisation.announced_on == dt.date(2025, 6, 18)
    route = AccessProgramme.objects.get(slug="nz-approval-unapproved-controlled-medicine")
    assert (route.kind, route.opened_on) == ("authorised_prescriber", dt.date(2025, 6, 18))


def test_it_dates_the_ema_workshop_to_april_2024(dataset):
    workshop = _decision("EU-5")
    assert (workshop.announced_on, workshop.announced_precision) == (dt.date(2024, 4, 16), Precision.DAY)


def test_it_records_the_ema_depression_guideline_coming_into_force(dataset):
    adoption = _decision("EU-7")
    assert (adoption.announced_precision, adoption.effective_on) == (Precision.MONTH, None)
    assert _decision("EU-10").effective_on == dt.date(2025, 9, 30)


def test_it_loads_the_access_programmes_by_jurisdiction(dataset):
    slugs = set(AccessProgramme.objects.values_list("slug", flat=True))
    assert {
        "us-mdma-expanded-access",
        "us-right-to-try",
        "us-commissioners-national-priority-voucher",
        "au-authorised-prescriber-mdma-psilocybine",
        "au-sas-category-a",
        "au-sas-category-b",
        "au-sas-category-c",
        "au-clinical-trial-schemes",
        "eu-compassionate-use-article-83",
        "eu-national-compassionate-use-programmes",
        "de-psilocybin-compassionate-use",
        "cz-magistral-psilocybin",
        "ca-special-access-program",
        "ca-section-56-exemption",
        "ch-limited-medical-use",
        "nz-approval-unapproved-controlled-medicine",
        "gb-home-office-schedule-1-licence",
        "us-nm-medical-psilocybin",
        "us-or-psilocybin-services",
        "us-co-natural-medicine",
        "ch-limited-medical-use-1988-1993",
    } == slugs


@pytest.mark.parametrize(
    ("slug", "kind"),
    [
        ("us-commissioners-national-priority-voucher", "review_pathway"),
        ("au-clinical-trial-schemes", "clinical_trial_scheme"),
    ],
)
def test_it_marks_programmes_that_give_no_patient_access(dataset, slug, kind):
    assert AccessProgramme.objects.get(slug=slug).kind == kind


@pytest.mark.parametrize(
    "slug",
    [
        "us-right-to-try",
        "au-sas-category-a",
        "au-sas-category-b",
        "au-sas-category-c",
        "eu-compassionate-use-article-83",
        "eu-national-compassionate-use-programmes",
        "gb-home-office-schedule-1-licence",
    ],
)
def test_it_leaves_general_schemes_that_reach_no_psychedelic_out_of_every_cell(dataset, slug):
    # Neither therapies nor a substance: the programme is general and shows in no cell.
    programme = AccessProgramme.objects.get(slug=slug)
    assert (programme.substance, programme.therapies.count()) == ("", 0)


# --- the December 2026 audit (section 14 of the reference facts) -----------------

LOW_AUTHORITY_HOSTS = (
    "dev.funandflip.com",
    "newsblogging.net",
    "git.livingip.xyz",
    "thehappybroadcast.com",
    "tokersguide.com",
    "growcola.com",
    "weedman.ai",
    "bfweb.us",
)
NEVER_READ_URLS = (
    "time.com/7295413",
    "honisoit.com",
    "ir.compasspathways.com",
)
RIGHT_TO_TRY_ROWS = ["US-33", "US-37", "US-38", "US-45", "US-46"]


def test_it_dates_the_mdma_final_rule_and_the_court_remand(dataset):
    final = _decision("US-4")
    assert (final.announced_on, final.effective_on) == (dt.date(1986, 10, 14), dt.date(1986, 11, 13))
    remand = _decision("A5")
    assert remand.announced_on == dt.date(1987, 9, 18)
    assert remand.jurisdiction.code == "us"
    reissue = _decision("US-5")
    assert (reissue.announced_on, reissue.effective_on) == (dt.date(1988, 2, 22), dt.date(1988, 3, 23))


def test_it_sets_no_control_from_the_court_vacatur(dataset):
    # Whether MDMA was uncontrolled between vacatur and re-issue is still to check.
    vacatur = _decision("A5")
    assert (vacatur.control, vacatur.approval_stage) == ("", "")


@pytest.mark.parametrize(
    ("key", "effective"),
    [
        ("US-2", dt.date(1985, 7, 1)),
        ("US-4", dt.date(1986, 11, 13)),
        ("US-5", dt.date(1988, 3, 23)),
    ],
)
def test_it_controls_us_mdma_from_each_schedule_i_instrument(dataset, key, effective):
    decision = _decision(key)
    assert (decision.substance, decision.control, decision.effective_on) == ("MDMA", "prohibited", effective)
    assert decision.control_instrument.startswith("Schedule I, Controlled Substances Act")


def test_it_dates_the_controlled_substances_act_to_signature_and_entry_into_force(dataset):
    csa = _decision("US-32")
    assert (csa.announced_on, csa.announced_precision) == (dt.date(1970, 10, 27), Precision.DAY)
    assert (csa.effective_on, csa.effective_precision) == (dt.date(1971, 5, 1), Precision.DAY)


def test_it_separates_the_first_priority_vouchers_from_the_weak_shortlist_report(dataset):
    named = _decision("US-42")
    assert named.announced_on == dt.date(2025, 10, 16)
    assert named.verified is True
    report = _decision("US-42B")
    assert (report.announced_on, report.announced_precision) == (dt.date(2026, 2, 1), Precision.MONTH)
    assert report.verified is False


def test_it_dates_the_czech_legislative_steps(dataset):
    assert _decision("CZ-1").announced_on == dt.date(2025, 5, 30)
    assert _decision("CZ-2").announced_on == dt.date(2025, 7, 3)
    signature = _decision("CZ-3")
    assert (signature.announced_on, signature.announced_precision) == (dt.date(2025, 7, 1), Precision.MONTH)


def test_it_gives_the_czech_cap_in_milligrams(dataset):
    assert "75 mg a month" in _decision("CZ-4").summary
    assert "75 mg a month" in AccessProgramme.objects.get(slug="cz-magistral-psilocybin").capacity
    assert "grams" not in _decision("CZ-4").summary


@pytest.mark.parametrize(
    ("key", "day"),
    [
        ("US-40", dt.date(2025, 6, 23)),
        ("CA-3", dt.date(2020, 12, 11)),
        ("CA-6", dt.date(2023, 1, 16)),
        ("A7", dt.date(2025, 7, 24)),
        ("A10", dt.date(2025, 4, 7)),
        ("A11", dt.date(2026, 6, 23)),
    ],
)
def test_it_dates_corrected_and_added_rows_to_the_day(dataset, key, day):
    decision = _decision(key)
    assert (decision.announced_on, decision.announced_precision) == (day, Precision.DAY)


@pytest.mark.parametrize("key", ["CA-5", "NZ-1"])
def test_it_records_single_prescriber_authorisations_as_access_not_approval(dataset, key):
    assert _decision(key).kind != "approval"


def test_it_does_not_call_a_petition_a_scheduling_change(dataset):
    assert _decision("US-44").kind != "scheduling"


@pytest.mark.parametrize("key", RIGHT_TO_TRY_ROWS)
def test_it_includes_end_of_life_psilocybin_in_the_right_to_try_rows(dataset, key):
    assert _decision(key).therapies.filter(slug="psilocybin-eol").exists()


def test_it_dates_the_priority_voucher_pilot_and_says_it_is_no_access_route(dataset):
    pilot = AccessProgramme.objects.get(slug="us-commissioners-national-priority-voucher")
    assert (pilot.opened_on, pilot.opened_precision) == (dt.date(2025, 6, 17), Precision.DAY)
    assert "not a patient access route" in pilot.summary


def test_it_names_the_new_zealand_legal_basis(dataset):
    route = AccessProgramme.objects.get(slug="nz-approval-unapproved-controlled-medicine")
    assert "regulation 22 of the Misuse of Drugs Regulations 1977" in route.summary
    assert route.sources.filter(url__startswith="https://www.medsafe.govt.nz/").exists()


def test_it_names_the_german_legal_basis_and_the_primary_source(dataset):
    for row in (_decision("DE-1"), AccessProgramme.objects.get(slug="de-psilocybin-compassionate-use")):
        assert "§ 21 Abs. 2 AMG" in row.summary
        assert row.sources.filter(url__contains="zi-mannheim.de").exists()


def test_it_records_uk_psilocybin_as_a_standing_status_not_a_2025_change(dataset):
    answer = _decision("UK-1")
    assert (answer.control, answer.approval_stage, answer.effective_on) == ("", "", None)
    assert answer.sources.filter(url__startswith="https://hansard.parliament.uk/", grade="official").exists()


@pytest.mark.parametrize("key", ["AU-8", "AU-9"])
def test_it_cites_the_tga_itself_for_the_australian_rescheduling(dataset, key):
    assert _decision(key).sources.filter(url__contains="tga.gov.au", grade="official").exists()


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("US-37", "fda.gov"),
        ("US-19", "regulations.justia.com"),
        ("NZ-1", "miragenews.com"),
        ("US-46", "govinfo.gov"),
        ("CA-6", "alberta.ca"),
    ],
)
def test_it_cites_an_official_document_beside_secondary_reports(dataset, key, host):
    assert _decision(key).sources.filter(url__contains=host).exists()


def test_it_cites_no_page_that_was_never_read(dataset):
    for fragment in NEVER_READ_URLS:
        assert not Source.objects.filter(url__contains=fragment).exists(), fragment
        assert not ProgrammeSource.objects.filter(url__contains=fragment).exists(), fragment


def test_it_never_rests_a_verified_fact_on_a_low_authority_repost_alone(dataset):
    rows = [*Decision.objects.prefetch_related("sources"), *AccessProgramme.objects.prefetch_related("sources")]
    checked = 0
    for row in rows:
        urls = [s.url for s in row.sources.all()]
        weak = [u for u in urls if any(host in u for host in LOW_AUTHORITY_HOSTS)]
        if weak:
            checked += 1
            better = [u for u in urls if u not in weak]
            assert better or not row.verified, getattr(row, "dataset_key", row)
    assert checked >= 6


# --- US states and their programmes -------------------------------------------------


def test_it_nests_us_states_under_the_us(dataset):
    for code in ("us-nm", "us-or", "us-co"):
        assert Jurisdiction.objects.get(code=code).parent.code == "us"
    assert Regulator.objects.get(code="nm-doh").jurisdiction.code == "us-nm"
    assert Regulator.objects.get(code="oha").jurisdiction.code == "us-or"
    assert Regulator.objects.get(code="co-natural-medicine").jurisdiction.code == "us-co"


@pytest.mark.parametrize("code", ["us-or", "us-co"])
def test_it_never_records_adult_use_programmes_as_a_therapys_approval(dataset, code):
    decisions = Decision.objects.filter(jurisdiction__code=code)
    assert decisions.count() == 2
    assert not decisions.filter(kind="approval").exists()
    assert set(decisions.values_list("approval_stage", flat=True)) == {""}
    assert set(decisions.values_list("control", flat=True)) == {""}
    programme = AccessProgramme.objects.get(jurisdiction__code=code)
    assert programme.kind == "supervised_adult_use"
    assert "not an approval of any therapy" in programme.summary


def test_it_records_the_new_mexico_programme_as_planned_with_its_deadline(dataset):
    programme = AccessProgramme.objects.get(slug="us-nm-medical-psilocybin")
    assert (programme.kind, programme.state, programme.opened_on) == ("state_medical_programme", "planned", None)
    act = _decision("A10")
    assert act.target_on == dt.date(2027, 12, 31)
    assert act.access_programme == programme


def test_it_leaves_out_the_texas_ibogaine_consortium(dataset):
    # A12 is context only: ibogaine is not a tracked therapy.
    assert not Decision.objects.filter(dataset_key="A12").exists()
    assert not Jurisdiction.objects.filter(code="us-tx").exists()


# --- nothing from the "still to check" list (14.5) ---------------------------------


def test_it_ships_nothing_announced_after_the_sources_thin_out(dataset):
    # The stored pages thin out after July 2026; nothing from August to November
    # 2026 could be confirmed, so nothing later than the German programme's
    # listed end may appear as fact.
    assert not Decision.objects.filter(announced_on__gt=dt.date(2026, 7, 11)).exists()


@pytest.mark.parametrize(
    "phrase",
    [
        "uAspire",
        "Resilient",
        "rolling NDA completed",
        "pilot started",
        "first patients treated",
    ],
)
def test_it_ships_no_still_to_check_item_as_fact(dataset, phrase):
    assert not Decision.objects.filter(title__icontains=phrase).exists()
    assert not Decision.objects.filter(summary__icontains=phrase).exists()


def test_it_leaves_out_the_undated_tga_authorised_prescriber_review(dataset):
    assert not Decision.objects.filter(dataset_key="AU-14").exists()


# --- baselines -----------------------------------------------------------------------

BASELINES = {
    ("us", "Psilocybin"): ("1971-05-01", True),
    ("us", "MDMA"): ("1985-07-01", True),
    ("au", "Psilocybin"): (None, True),
    ("au", "MDMA"): (None, True),
    ("gb", "Psilocybin"): ("1973-07-01", True),
    ("gb", "MDMA"): (None, True),
    ("nz", "Psilocybin"): (None, True),
    ("cz", "Psilocybin"): (None, True),
    ("de", "Psilocybin"): (None, True),
}


def test_it_ships_a_baseline_for_every_jurisdiction_and_substance_it_could_source(dataset):
    shipped = {
        (b.jurisdiction.code, b.substance): (b.since_on.isoformat() if b.since_on else None, b.verified)
        for b in ControlBaseline.objects.select_related("jurisdiction")
    }
    assert shipped == BASELINES


def test_it_gives_every_baseline_a_source_and_an_instrument(dataset):
    for baseline in ControlBaseline.objects.all():
        assert baseline.sources.exists(), baseline.dataset_key
        assert baseline.instrument
        assert not baseline.verified or baseline.sources.exclude(grade="").exists()
    assert BaselineSource.objects.count() >= ControlBaseline.objects.count()


def test_it_invents_no_baseline_where_none_was_researched(dataset):
    assert not ControlBaseline.objects.filter(jurisdiction__code__in=["nl", "no", "ch", "ca", "eu"]).exists()
    assert not ControlBaseline.objects.filter(jurisdiction__parent__code="us").exists()


def test_it_dates_australian_schedule_9_only_as_before_the_2020_applications(dataset):
    for baseline in ControlBaseline.objects.filter(jurisdiction__code="au"):
        assert (baseline.since_on, baseline.known_before) == (None, dt.date(2020, 7, 1))
        assert "not found" in baseline.verification_note


def test_it_dates_uk_psilocybin_class_a_from_1973_on_an_official_source(dataset):
    baseline = ControlBaseline.objects.get(jurisdiction__code="gb", substance="Psilocybin")
    assert baseline.instrument.startswith("Class A, Misuse of Drugs Act 1971")
    assert baseline.sources.filter(grade="official", url__startswith="https://hansard.parliament.uk/").exists()


@pytest.mark.parametrize(
    ("code", "substance", "better_source"),
    [
        ("gb", "MDMA", "docslib.org/doc/747438"),
        ("de", "Psilocybin", "dorsch.hogrefe.com"),
    ],
)
def test_it_verifies_weak_baselines_only_with_a_better_source_beside_them(dataset, code, substance, better_source):
    # The reference marked these weak; they ship verified only because a stored
    # page of more authority confirmed them.
    baseline = ControlBaseline.objects.get(jurisdiction__code=code, substance=substance)
    assert baseline.sources.filter(url__contains=better_source).exists()
    assert baseline.sources.count() >= 2
    assert baseline.since_on is None and "not found" in baseline.verification_note


# --- coverage, review dates, researched dates, dataset version -------------------------


def test_it_records_the_dataset_version(dataset):
    release = DatasetRelease.objects.get()
    assert release.version == "2026.12.1"


def test_it_never_claims_a_review_later_than_the_stored_pages_support(dataset):
    # The stored pages thin out after July 2026.
    reviewed = dict(Jurisdiction.objects.values_list("code", "reviewed_to"))
    assert all(day is None or day <= dt.date(2026, 7, 31) for day in reviewed.values())
    assert reviewed["de"] == dt.date(2026, 7, 11)
    assert reviewed["us-or"] == dt.date(2023, 5, 5)
    assert reviewed["us-co"] == dt.date(2024, 12, 31)
    assert reviewed["no"] is None
    assert {code for code, day in reviewed.items() if day} == {
        "us",
        "au",
        "eu",
        "de",
        "cz",
        "nl",
        "ch",
        "ca",
        "nz",
        "gb",
        "us-nm",
        "us-or",
        "us-co",
    }


def test_it_records_what_each_jurisdiction_covers(dataset):
    mdma, psilocybin = Therapy.objects.get(slug="mdma-ptsd"), Therapy.objects.get(slug="psilocybin-trd")
    germany = Jurisdiction.objects.get(code="de")
    assert germany.covers(psilocybin) and not germany.covers(mdma)
    netherlands = Jurisdiction.objects.get(code="nl")
    assert netherlands.covers(mdma) and not netherlands.covers(psilocybin)
    assert Jurisdiction.objects.get(code="us").covers(mdma)


def test_it_dates_each_fact_to_its_research(dataset):
    audit = _decision("A10")
    assert (audit.researched_on, audit.researched_precision) == (dt.date(2026, 12, 1), Precision.MONTH)
    original = _decision("US-18")
    assert (original.researched_on, original.researched_precision) == (dt.date(2026, 1, 1), Precision.YEAR)
    for baseline in ControlBaseline.objects.all():
        assert baseline.researched_precision == Precision.MONTH and baseline.researched_on == dt.date(2026, 12, 1)


# --- provenance --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["US-14", "US-15", "MDD-2"])
def test_it_grades_journal_articles_as_literature(dataset, key):
    grades = set(_decision(key).sources.values_list("grade", flat=True))
    assert "literature" in grades and "official" not in grades


@pytest.mark.parametrize(
    "url_part",
    [
        "toad.com/drugs/norml",
        "regulations.justia.com",
        "openjurist.org",
        "miragenews.com/nz-psychiatrist",
        "parallelparliament.co.uk",
        "crweworld.com",
    ],
)
def test_it_marks_copies_of_official_documents(dataset, url_part):
    sources = Source.objects.filter(url__contains=url_part)
    assert sources.exists()
    assert set(sources.values_list("grade", "is_copy")) == {("official", True)}


def test_it_gives_every_fact_a_source(dataset):
    assert not Decision.objects.filter(sources__isnull=True).exists()
    assert not AccessProgramme.objects.filter(sources__isnull=True).exists()
    assert not ControlBaseline.objects.filter(sources__isnull=True).exists()


def test_it_ships_the_counts_the_closing_note_reports(dataset):
    assert Decision.objects.count() == 91
    assert ControlBaseline.objects.count() == 9
    assert AccessProgramme.objects.count() == 21


# --- cells read back through the selectors ---------------------------------------------


def _cell(jurisdiction: str, therapy: str, on: str):
    return status_for(
        jurisdiction=Jurisdiction.objects.get(code=jurisdiction),
        therapy=Therapy.objects.get(slug=therapy),
        as_of=dt.date.fromisoformat(on),
    )


def test_us_psilocybin_for_trd_in_mid_2025_is_schedule_i_investigational_with_no_route(dataset):
    cell = _cell("us", "psilocybin-trd", "2025-07-01")
    assert (cell.control.value, cell.approval_stage.value, cell.access) == ("prohibited", "investigational", ())
    assert cell.headline == "Investigational · Schedule I"


def test_us_mdma_for_ptsd_in_2021_has_only_the_capped_ea_protocol_and_not_the_access_colour(dataset):
    cell = _cell("us", "mdma-ptsd", "2021-06-01")
    assert (cell.control.value, cell.approval_stage.value) == ("prohibited", "investigational")
    (route,) = cell.access
    assert (route.kind, route.capped) == ("expanded_access", True)
    assert cell.tone == "investigational"
    assert _cell("au", "mdma-ptsd", "2024-06-01").tone == "access"


def test_au_mdma_for_ptsd_in_mid_2020_is_schedule_9_from_the_baseline(dataset):
    cell = _cell("au", "mdma-ptsd", "2020-06-01")
    assert cell.state == "recorded"
    assert (cell.control.value, cell.control.decision_id) == ("prohibited", None)
    assert cell.control.baseline_id and cell.control.instrument.startswith("Schedule 9")


def test_uk_psilocybin_for_trd_in_2010_is_class_a(dataset):
    cell = _cell("gb", "psilocybin-trd", "2010-01-01")
    assert cell.control.value == "prohibited"
    assert cell.headline.startswith("Class A")
    assert _cell("gb", "psilocybin-trd", "2026-01-01").control.since == dt.date(1973, 7, 1)


def test_cz_psilocybin_for_trd_is_prohibited_then_permitted_from_2026(dataset):
    assert _cell("cz", "psilocybin-trd", "2025-12-31").control.value == "prohibited"
    assert _cell("cz", "psilocybin-trd", "2026-01-02").control.value == "medical_use_permitted"
    assert _cell("cz", "psilocybin-mdd", "2026-01-02").control.value == "prohibited"


def test_the_german_route_reads_unknown_after_11_july_2026(dataset):
    before = [r.state for r in _cell("de", "psilocybin-trd", "2026-07-11").access]
    after = _cell("de", "psilocybin-trd", "2026-07-12")
    assert before == ["open"]
    assert [r.state for r in after.access] == ["unknown_after"]
    assert after.tone != "access"


def test_us_mdma_under_the_court_vacatur_still_reads_schedule_i_from_the_1986_rule(dataset):
    cell = _cell("us", "mdma-ptsd", "1987-12-01")
    assert cell.control.decision_id == _decision("US-4").pk


@pytest.mark.parametrize(("code", "on"), [("us-or", "2024-01-01"), ("us-co", "2025-06-01")])
def test_adult_use_states_show_a_route_of_their_own_kind_and_no_approval(dataset, code, on):
    cell = _cell(code, "psilocybin-trd", on)
    assert cell.approval_stage is None
    assert [r.kind for r in cell.access] == ["supervised_adult_use"]


def test_unresearched_cells_read_not_researched(dataset):
    assert _cell("nl", "psilocybin-trd", "2026-01-01").state == "not_researched"
    assert _cell("de", "mdma-ptsd", "2026-01-01").state == "not_researched"
    assert _cell("no", "mdma-ptsd", "2026-01-01").state == "not_researched"


def test_the_right_to_try_act_shows_in_no_cell(dataset):
    # DEA holds that Right to Try does not reach Schedule I drugs.
    assert _cell("us", "psilocybin-eol", "2025-01-01").access == ()
