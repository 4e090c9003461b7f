"""The shipped historical dataset (regulatory/data/history.yaml), loaded
through the real loader: key facts an analyst relies on stay pinned."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import (
    AccessProgramme,
    Decision,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeSource,
    Regulator,
    Source,
    Therapy,
)
from regulatory.selectors import status_for, status_matrix

pytestmark = pytest.mark.django_db

CORPORATE_ROWS = ["US-17", "US-23", "US-24", "US-26", "US-27", "US-29"]


def _status(jurisdiction: str, therapy: str, on: str) -> str | None:
    entry = status_for(
        jurisdiction=Jurisdiction.objects.get(code=jurisdiction),
        therapy=Therapy.objects.get(slug=therapy),
        as_of=dt.date.fromisoformat(on),
    )
    return entry.status if entry else None


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


# --- the status facts ---------------------------------------------------------


def test_it_has_us_mdma_ptsd_under_review_after_the_nda_is_accepted(dataset):
    assert _status("us", "mdma-ptsd", "2024-03-01") == "under_review"


def test_it_has_us_mdma_ptsd_not_approved_after_the_complete_response_letter(dataset):
    assert _status("us", "mdma-ptsd", "2024-08-10") == "not_approved"
    assert _status("us", "mdma-ptsd", "2026-06-01") == "not_approved"


def test_it_records_the_pdufa_target_date_on_the_nda_acceptance(dataset):
    acceptance = _decision("US-18")
    assert acceptance.kind == "acceptance"
    assert (acceptance.announced_on, acceptance.effective_on) == (dt.date(2024, 2, 9), dt.date(2024, 2, 9))
    assert (acceptance.target_on, acceptance.target_precision) == (dt.date(2024, 8, 11), Precision.DAY)


@pytest.mark.parametrize("therapy", ["mdma-ptsd", "psilocybin-trd"])
def test_it_has_australian_restricted_access_only_from_1_july_2023(dataset, therapy):
    assert _status("au", therapy, "2023-06-30") != "restricted_access"
    assert _status("au", therapy, "2023-06-30") == "prohibited"
    assert _status("au", therapy, "2023-07-01") == "restricted_access"


def test_it_announces_the_australian_rescheduling_before_it_takes_effect(dataset):
    final = _decision("AU-8")
    assert (final.announced_on, final.effective_on) == (dt.date(2023, 2, 3), dt.date(2023, 7, 1))
    assert final.status == "restricted_access"
    assert final.access_programme.slug == "au-authorised-prescriber-mdma-psilocybine"


def test_it_keeps_other_australian_uses_prohibited(dataset):
    assert _status("au", "psilocybin-mdd", "2026-01-01") == "prohibited"
    assert _status("au", "mdma-mdd", "2026-01-01") == "prohibited"


def test_it_never_records_an_approval_status(dataset):
    assert not Decision.objects.filter(status="approved").exists()


def test_it_sets_no_status_at_eu_level(dataset):
    eu = Jurisdiction.objects.get(code="eu")
    assert status_matrix(as_of=dt.date(2026, 6, 1), jurisdiction_ids=[eu.pk]) == {}


def test_it_keeps_every_effective_date_on_or_after_the_announcement(dataset):
    for decision in Decision.objects.exclude(effective_on=None):
        assert decision.effective_on >= decision.announced_on, decision.dataset_key
    assert not Decision.objects.exclude(status="").filter(effective_on=None).exists()


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
    assert _status("ch", "mdma-ptsd", "2020-01-01") == "restricted_access"
    assert _status("ch", "psilocybin-trd", "2020-01-01") == "restricted_access"
    programme = AccessProgramme.objects.get(slug="ch-limited-medical-use")
    assert (programme.kind, programme.state, programme.regulator.code) == ("limited_medical_use", "open", "bag")
    assert _decision("CH-2").access_programme == programme


def test_it_records_the_canadian_special_access_program_reopening(dataset):
    assert _status("ca", "psilocybin-trd", "2022-01-04") == "prohibited"
    assert _status("ca", "psilocybin-trd", "2022-01-05") == "restricted_access"
    assert _status("ca", "mdma-ptsd", "2022-01-05") == "restricted_access"
    reopening = _decision("CA-4")
    assert reopening.kind == "access_programme"
    assert reopening.access_programme.slug == "ca-special-access-program"


def test_it_records_the_german_compassionate_use_programme(dataset):
    assert _status("de", "psilocybin-trd", "2025-07-10") is None
    assert _status("de", "psilocybin-trd", "2025-07-11") == "restricted_access"
    assert _decision("DE-1").access_programme.regulator.code == "bfarm"


def test_it_records_czech_medical_psilocybin_from_2026(dataset):
    assert _status("cz", "psilocybin-trd", "2025-12-31") is None
    assert _status("cz", "psilocybin-trd", "2026-01-01") == "restricted_access"


def test_it_dates_the_new_zealand_approval_to_the_ministerial_announcement(dataset):
    approval = _decision("NZ-1")
    assert approval.announced_on == dt.date(2025, 6, 18)
    assert _status("nz", "psilocybin-trd", "2025-06-18") == "restricted_access"


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
        "us-mdma-expanded-access", "us-right-to-try", "us-commissioners-national-priority-voucher",
        "au-authorised-prescriber-mdma-psilocybine", "au-sas-category-a", "au-sas-category-b",
        "au-sas-category-c", "au-clinical-trial-schemes", "eu-compassionate-use-article-83",
        "eu-national-compassionate-use-programmes", "de-psilocybin-compassionate-use",
        "cz-magistral-psilocybin", "ca-special-access-program", "ca-section-56-exemption",
        "ch-limited-medical-use", "nz-approval-unapproved-controlled-medicine",
        "gb-home-office-schedule-1-licence",
    } <= slugs
    expanded = AccessProgramme.objects.get(slug="us-mdma-expanded-access")
    assert (expanded.opened_on, expanded.state) == (dt.date(2019, 12, 20), "closed")


# --- the December 2026 audit (section 14 of the reference facts) -----------------

LOW_AUTHORITY_HOSTS = (
    "dev.funandflip.com", "newsblogging.net", "git.livingip.xyz", "thehappybroadcast.com",
    "tokersguide.com", "growcola.com", "weedman.ai", "bfweb.us",
)
NEVER_READ_URLS = (
    "time.com/7295413", "honisoit.com", "ir.compasspathways.com",
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


@pytest.mark.parametrize("key", ["A5", "US-5"])
def test_it_sets_no_status_from_the_vacatur_or_the_reissued_order(dataset, key):
    # Whether MDMA was uncontrolled between vacatur and re-issue is still to check.
    assert _decision(key).status == ""


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


@pytest.mark.parametrize(("key", "day"), [
    ("US-40", dt.date(2025, 6, 23)), ("CA-3", dt.date(2020, 12, 11)), ("CA-6", dt.date(2023, 1, 16)),
    ("A7", dt.date(2025, 7, 24)), ("A10", dt.date(2025, 4, 7)), ("A11", dt.date(2026, 6, 23)),
])
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
    assert answer.status == ""
    assert answer.sources.filter(url__startswith="https://hansard.parliament.uk/", grade="official").exists()


@pytest.mark.parametrize("key", ["AU-8", "AU-9"])
def test_it_cites_the_tga_itself_for_the_australian_rescheduling(dataset, key):
    assert _decision(key).sources.filter(url__contains="tga.gov.au", grade="official").exists()


@pytest.mark.parametrize(("key", "host"), [
    ("US-37", "fda.gov"), ("US-19", "regulations.justia.com"), ("NZ-1", "miragenews.com"),
    ("US-46", "govinfo.gov"), ("CA-6", "alberta.ca"),
])
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
    assert set(decisions.values_list("status", flat=True)) == {""}
    programme = AccessProgramme.objects.get(jurisdiction__code=code)
    assert "adult use" in programme.name
    assert "not an approval of any therapy" in programme.summary


def test_it_records_the_new_mexico_programme_as_planned_with_its_deadline(dataset):
    programme = AccessProgramme.objects.get(slug="us-nm-medical-psilocybin")
    assert (programme.state, programme.opened_on) == ("planned", None)
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


@pytest.mark.parametrize("phrase", [
    "uAspire", "Resilient", "rolling NDA completed", "pilot started", "first patients treated",
])
def test_it_ships_no_still_to_check_item_as_fact(dataset, phrase):
    assert not Decision.objects.filter(title__icontains=phrase).exists()
    assert not Decision.objects.filter(summary__icontains=phrase).exists()


def test_it_leaves_out_the_undated_tga_authorised_prescriber_review(dataset):
    assert not Decision.objects.filter(dataset_key="AU-14").exists()
