"""The status matrix at / ."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from regulatory.models import (
    APPROVAL_STAGE_DESCRIPTIONS,
    CONTROL_DESCRIPTIONS,
    ApprovalStage,
    Control,
    Decision,
    DecisionKind,
    Jurisdiction,
    Therapy,
)
from regulatory.services import decision_retract
from tests.factories import DecisionFactory
from tests.pages.sample import decisions_add

# The ETag version, jurisdictions, therapies; the cells (coverage, control,
# stage, baselines, programmes and their therapies, three source tables);
# latest decisions; upcoming ones, their therapies and sources; the dataset
# version (for "Cite this").
MATRIX_QUERIES = 17


def cell_html(html: str, jurisdiction: str, therapy: str) -> str:
    """The <td> of one (jurisdiction, therapy) cell."""
    row = re.search(rf'<tr[^>]*data-jurisdiction="{jurisdiction}".*?</tr>', html, re.S)
    assert row, f"no row for {jurisdiction}"
    cell = re.search(rf'<td[^>]*data-therapy="{therapy}".*?</td>', row.group(0), re.S)
    assert cell, f"no cell for {therapy} in {jurisdiction}"
    return cell.group(0)


def test_it_shows_the_headline_and_each_dimension_with_its_date(client, sample):
    html = client.get("/").content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Not approved · Schedule I · EA protocol (closed, date unknown)" in cell
    assert "Not approved since 9 Aug 2024" in cell
    assert "Schedule I, Controlled Substances Act (prohibited), since 1 Jul 1985" in cell
    assert "50 patients" in cell
    assert "tone--refused" in cell


def test_it_links_each_cell_to_the_decision_that_set_it(client, sample):
    html = client.get("/").content.decode()

    assert f'href="/decisions/{sample.au_rescheduling.pk}/"' in cell_html(html, "au", "mdma-ptsd")


def test_it_tells_not_researched_from_no_decision_recorded(client, sample):
    html = client.get("/").content.decode()

    assert "Not researched" in cell_html(html, "eu", "mdma-ptsd")
    assert "href=" not in cell_html(html, "eu", "mdma-ptsd")
    covered = cell_html(html, "de", "mdma-ptsd")
    assert "No decision recorded" in covered
    assert 'data-state="no_decision"' in covered


def test_it_shows_a_capped_protocol_without_the_access_colour_of_an_open_prescriber_scheme(client, sample):
    html = client.get("/", {"as_of": "2024-06-01"}).content.decode()

    us, au = cell_html(html, "us", "mdma-ptsd"), cell_html(html, "au", "mdma-ptsd")
    assert 'data-tone="review"' in us
    assert "EA protocol (closed, date unknown)" in us
    assert 'data-tone="access"' in au
    assert "Authorised prescribers (open)" in au


def test_it_shows_the_baseline_before_the_first_recorded_event_as_not_yet_certain(client, sample):
    html = client.get("/", {"as_of": "2020-06-01"}).content.decode()

    cell = cell_html(html, "au", "mdma-ptsd")
    assert "Schedule 9" in cell
    assert "in force before 1 Jul 2020" in cell
    assert "not yet certain" in cell
    assert 'data-tone="prohibited"' in cell


def test_it_shows_a_route_as_unknown_after_the_date_it_is_known_open_to(client, sample):
    html = client.get("/", {"as_of": "2026-07-12"}).content.decode()

    cell = cell_html(html, "de", "psilocybin-trd")
    assert "Compassionate use (unknown after 11 Jul 2026)" in cell
    assert 'data-tone="access"' not in cell


def test_it_shows_provenance_in_every_recorded_cell(client, sample):
    html = client.get("/").content.decode()

    cell = cell_html(html, "au", "mdma-ptsd")
    assert "official" in cell
    assert re.search(r"\d+ sources", cell)


def test_it_shows_how_far_each_jurisdiction_was_reviewed_and_marks_stale_ones(client, sample):
    from regulatory.services import jurisdiction_review_record

    jurisdiction_review_record(jurisdiction=Jurisdiction.objects.get(code="au"), reviewed_to=dt.date(2026, 5, 1))
    jurisdiction_review_record(jurisdiction=Jurisdiction.objects.get(code="us"), reviewed_to=dt.date(2025, 12, 1))

    html = client.get("/").content.decode()

    au_row = re.search(r'<tr[^>]*data-jurisdiction="au".*?</tr>', html, re.S).group(0)
    us_row = re.search(r'<tr[^>]*data-jurisdiction="us".*?</tr>', html, re.S).group(0)
    assert "reviewed to 1 May 2026" in au_row
    assert "stale" not in au_row
    assert "reviewed to 1 Dec 2025 · stale" in us_row
    assert "cell--stale" in cell_html(html, "us", "mdma-ptsd")


def test_it_shows_the_status_on_an_as_of_date(client, sample):
    html = client.get("/", {"as_of": "2024-03-01"}).content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Under review" in cell
    assert "Under review since 9 Feb 2024" in cell
    assert 'value="2024-03-01"' in html  # the date control shows the date asked for


def test_it_shows_a_month_precision_date_without_a_day(client, sample):
    html = client.get("/", {"as_of": "2020-01-01"}).content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Investigational" in cell
    assert "Investigational since Aug 2017" in cell
    assert "1 Aug 2017" not in cell


def test_it_marks_a_date_inside_a_month_known_period_as_not_yet_certain(client, sample):
    html = client.get("/", {"as_of": "2017-08-20"}).content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Investigational" in cell
    assert "not yet certain" in cell
    assert "cell--uncertain" in cell


def test_it_treats_a_blank_as_of_as_today(client, sample, today):
    response = client.get("/", {"as_of": ""})

    assert response.status_code == 200
    assert response.context["matrix"].as_of == today


def test_it_offers_a_date_control_that_submits_as_of(client, sample):
    html = client.get("/").content.decode()

    assert re.search(r'<form[^>]*method="get"', html)
    assert re.search(r'<input type="date" id="as_of" name="as_of" value="2026-06-01"', html)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_it_answers_400_for_a_date_out_of_range(client, sample, value):
    response = client.get("/", {"as_of": value})

    assert response.status_code == 400
    assert "out of range" in response.content.decode()


@pytest.mark.parametrize("value", ["2024-13-01", "abc", "20240301", "2024-02-30", "2024-3-1"])
def test_it_answers_400_naming_as_of_for_a_malformed_date(client, sample, value):
    response = client.get("/", {"as_of": value})

    assert response.status_code == 400
    html = response.content.decode()
    assert '<code class="param">as_of</code>' in html
    assert "YYYY-MM-DD" in html or "not a real calendar date" in html
    assert '<nav class="site-nav"' in html  # rendered with the site's base template


def test_it_indents_member_states_under_their_union(client, sample):
    html = client.get("/").content.decode()

    order = re.findall(r'<tr class="(matrix__row[^"]*)" data-jurisdiction="(\w+)"', html)
    codes = [code for _, code in order]
    assert codes.index("de") == codes.index("eu") + 1
    assert dict((code, cls) for cls, code in order)["de"] == "matrix__row matrix__row--member"
    assert "(member of European Union)" in html


def test_it_explains_the_headline_rule_and_every_dimension_in_the_legend(client, sample):
    from django.utils.html import escape

    from regulatory.pages.matrix import TONE_DESCRIPTIONS
    from regulatory.selectors import TONE_LABELS

    html = client.get("/").content.decode()
    legend = html[html.index('id="legend-heading"') :]

    assert "approval stage · control · access routes" in legend
    for tone, description in TONE_DESCRIPTIONS.items():
        assert escape(TONE_LABELS[tone]) in legend
        assert escape(description) in legend
    for control in Control:
        assert escape(CONTROL_DESCRIPTIONS[control]) in legend
    for stage in ApprovalStage:
        assert escape(APPROVAL_STAGE_DESCRIPTIONS[stage]) in legend


def test_it_ignores_a_retracted_decision(client, sample):
    decision_retract(decision=sample.us_refusal, note="Entered for the wrong jurisdiction.")

    cell = cell_html(client.get("/").content.decode(), "us", "mdma-ptsd")

    assert "Under review" in cell


def test_it_ignores_a_draft(client, sample):
    DecisionFactory(
        jurisdiction=Jurisdiction.objects.get(code="us"),
        therapies=[Therapy.objects.get(slug="mdma-ptsd")],
        kind=DecisionKind.APPROVAL,
        status="approved",
        announced_on=sample.us_refusal.announced_on,
    )

    cell = cell_html(client.get("/").content.decode(), "us", "mdma-ptsd")

    assert "Not approved" in cell


def test_it_lists_the_latest_decisions_and_what_was_coming_up_as_seen_on_a_past_date(client, sample):
    html = client.get("/", {"as_of": "2024-03-01"}).content.decode()

    latest = html[html.index('id="latest-heading"') :]
    assert "FDA accepts the NDA with priority review" in latest
    assert "FDA issues a complete response letter" not in latest  # announced later
    upcoming = html[html.index('id="upcoming-heading"') : html.index('id="latest-heading"')]
    assert "Aug 2024" in upcoming or "11 Aug 2024" in upcoming  # the PDUFA date, ahead on 1 Mar 2024
    assert "FOPH consults" not in upcoming  # not announced until 2026


def test_it_lists_dates_coming_up(client, sample):
    html = client.get("/").content.decode()

    upcoming = html[html.index('id="upcoming-heading"') :]
    assert "Oct 2026" in upcoming
    assert "FOPH consults on tighter rules for limited medical use" in upcoming


def test_it_has_the_site_navigation_and_feed_links(client, sample):
    html = client.get("/").content.decode()

    for href in (
        "/timeline/",
        "/programmes/",
        "/subscribe/",
        "/api/v1/docs/",
        "/feeds/decisions.atom",
        "/feeds/upcoming.ics",
        "/exports/decisions.csv",
    ):
        assert f'href="{href}"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert '<a href="/" aria-current="page">Matrix</a>' in html


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample, django_assert_num_queries):
    with django_assert_num_queries(MATRIX_QUERIES):
        small = client.get("/")
    decisions_add(30)
    with django_assert_num_queries(MATRIX_QUERIES):
        large = client.get("/")

    assert large.content.count(b"<tr") > small.content.count(b"<tr")
    assert Decision.objects.count() > 30


# --- the cells issue 9 pins, on the shipped dataset ----------------------------------


@pytest.fixture
def shipped(dataset, db):
    from django.core.cache import cache

    cache.clear()
    return dataset


def _shipped_cell(client, as_of: str, jurisdiction: str, therapy: str) -> str:
    response = client.get("/", {"as_of": as_of})
    assert response.status_code == 200
    return cell_html(response.content.decode(), jurisdiction, therapy)


def test_the_matrix_shows_us_psilocybin_in_mid_2025_as_investigational_schedule_i_without_a_route(client, shipped):
    cell = _shipped_cell(client, "2025-07-01", "us", "psilocybin-trd")

    assert "Investigational · Schedule I</span>" in cell
    assert "Access:" not in cell
    assert 'data-tone="investigational"' in cell


def test_the_matrix_never_gives_the_us_ea_protocol_australias_access_colour(client, shipped):
    us = _shipped_cell(client, "2021-06-01", "us", "mdma-ptsd")
    au = _shipped_cell(client, "2024-06-01", "au", "mdma-ptsd")

    assert "Investigational · Schedule I · EA protocol" in us
    assert 'data-tone="investigational"' in us
    assert 'data-tone="access"' in au


def test_the_matrix_shows_au_mdma_in_mid_2020_as_schedule_9_not_no_decision(client, shipped):
    cell = _shipped_cell(client, "2020-06-01", "au", "mdma-ptsd")

    assert "Schedule 9" in cell
    assert "No decision recorded" not in cell
    assert 'data-tone="prohibited"' in cell


def test_the_matrix_shows_uk_psilocybin_in_2010_as_class_a(client, shipped):
    assert "Class A" in _shipped_cell(client, "2010-01-01", "gb", "psilocybin-trd")


def test_the_matrix_shows_czech_psilocybin_permitted_for_medical_use_on_2_january_2026(client, shipped):
    assert "(medical use permitted)" in _shipped_cell(client, "2026-01-02", "cz", "psilocybin-trd")


def test_the_matrix_shows_the_german_route_as_unknown_after_11_july_2026(client, shipped):
    cell = _shipped_cell(client, "2026-07-12", "de", "psilocybin-trd")

    assert "unknown after 11 Jul 2026" in cell
    assert "Compassionate use (open)" not in cell
    assert 'data-tone="access"' not in cell


def test_the_matrix_shows_us_states_under_the_us_like_member_states(client, shipped):
    html = client.get("/").content.decode()

    order = re.findall(r'<tr class="(matrix__row[^"]*)" data-jurisdiction="([\w-]+)"', html)
    codes = [code for _, code in order]
    assert "us-nm" in codes
    assert codes.index("us-nm") > codes.index("us")
    assert dict((code, cls) for cls, code in order)["us-nm"] == "matrix__row matrix__row--member"
