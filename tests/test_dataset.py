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


def test_it_keeps_the_us_breakthrough_designation_at_month_precision(dataset):
    btd = _decision("US-10")
    assert btd.kind == "designation"
    assert (btd.announced_on, btd.announced_precision) == (dt.date(2017, 8, 1), Precision.MONTH)
    assert btd.announced_display == "Aug 2017"


def test_it_keeps_month_precision_for_the_first_australian_final_decision(dataset):
    final = _decision("AU-5")
    assert (final.announced_precision, final.effective_precision) == (Precision.MONTH, Precision.MONTH)
    assert final.effective_on == dt.date(2021, 12, 1)


def test_it_keeps_year_precision_where_only_the_year_is_known(dataset):
    assert _decision("US-15").announced_precision == Precision.YEAR
    assert _decision("CH-2").effective_precision == Precision.YEAR


# --- verification -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["US-5", "US-13", "US-15", "US-32", "AU-5", "UK-1"])
def test_it_marks_rows_with_a_detail_from_memory_as_unverified(dataset, key):
    decision = _decision(key)
    assert decision.verified is False
    assert decision.verification_note


@pytest.mark.parametrize("key", ["CA-6"])
def test_it_marks_weakly_sourced_rows_as_unverified(dataset, key):
    decision = _decision(key)
    assert decision.verified is False
    assert decision.verification_note


def test_it_leaves_out_weak_rows_it_could_not_support(dataset):
    assert not Decision.objects.filter(dataset_key__in=["AU-13"]).exists()


def test_it_stores_both_advisory_committee_votes(dataset):
    vote = _decision("US-20")
    assert vote.kind == "advisory_vote"
    assert "2 to 9" in vote.summary and "1 to 10" in vote.summary


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
    assert _decision("EU-7").announced_precision == Precision.MONTH
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
