"""The status matrix at / ."""

from __future__ import annotations

import re

import pytest

from regulatory.models import STATUS_DESCRIPTIONS, Decision, DecisionKind, Jurisdiction, Therapy
from regulatory.services import decision_retract
from tests.factories import DecisionFactory
from tests.pages.sample import decisions_add

MATRIX_QUERIES = 8  # the ETag version, jurisdictions, therapies, statuses, latest decisions; upcoming ones, their therapies and sources


def cell_html(html: str, jurisdiction: str, therapy: str) -> str:
    """The <td> of one (jurisdiction, therapy) cell."""
    row = re.search(rf'<tr[^>]*data-jurisdiction="{jurisdiction}".*?</tr>', html, re.S)
    assert row, f"no row for {jurisdiction}"
    cell = re.search(rf'<td[^>]*data-therapy="{therapy}".*?</td>', row.group(0), re.S)
    assert cell, f"no cell for {therapy} in {jurisdiction}"
    return cell.group(0)


def test_it_shows_the_status_label_and_the_date_it_took_effect(client, sample):
    html = client.get("/").content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Not approved" in cell
    assert "since 9 Aug 2024" in cell
    assert "status--not_approved" in cell


def test_it_links_each_cell_to_the_decision_that_set_it(client, sample):
    html = client.get("/").content.decode()

    assert f'href="/decisions/{sample.au_rescheduling.pk}/"' in cell_html(html, "au", "mdma-ptsd")


def test_it_says_so_when_no_decision_is_recorded(client, sample):
    html = client.get("/").content.decode()

    cell = cell_html(html, "eu", "mdma-ptsd")
    assert "No decision recorded" in cell
    assert "href=" not in cell


def test_it_shows_the_status_on_an_as_of_date(client, sample):
    html = client.get("/", {"as_of": "2024-03-01"}).content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Under review" in cell
    assert "since 9 Feb 2024" in cell
    assert 'value="2024-03-01"' in html  # the date control shows the date asked for


def test_it_shows_a_month_precision_date_without_a_day(client, sample):
    html = client.get("/", {"as_of": "2020-01-01"}).content.decode()

    cell = cell_html(html, "us", "mdma-ptsd")
    assert "Investigational" in cell
    assert "since Aug 2017" in cell
    assert "1 Aug 2017" not in cell


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


def test_it_explains_every_status_in_the_legend(client, sample):
    html = client.get("/").content.decode()

    for status in Status:
        assert status.label in html
        assert STATUS_DESCRIPTIONS[status] in html


def test_it_ignores_a_retracted_decision(client, sample):
    decision_retract(decision=sample.us_refusal, note="Entered for the wrong jurisdiction.")

    cell = cell_html(client.get("/").content.decode(), "us", "mdma-ptsd")

    assert "Under review" in cell


def test_it_ignores_a_draft(client, sample):
    DecisionFactory(jurisdiction=Jurisdiction.objects.get(code="us"), therapies=[Therapy.objects.get(slug="mdma-ptsd")],
                    kind=DecisionKind.APPROVAL, status="approved", announced_on=sample.us_refusal.announced_on)

    cell = cell_html(client.get("/").content.decode(), "us", "mdma-ptsd")

    assert "Not approved" in cell


def test_it_lists_dates_coming_up(client, sample):
    html = client.get("/").content.decode()

    upcoming = html[html.index('id="upcoming-heading"'):]
    assert "Oct 2026" in upcoming
    assert "FOPH consults on tighter rules for limited medical use" in upcoming


def test_it_has_the_site_navigation_and_feed_links(client, sample):
    html = client.get("/").content.decode()

    for href in ("/timeline/", "/programmes/", "/subscribe/", "/api/v1/docs/", "/feeds/decisions.atom",
                 "/feeds/upcoming.ics", "/exports/decisions.csv"):
        assert f'href="{href}"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert '<a href="/" aria-current="page">Matrix</a>' in html


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample,
                                                                           django_assert_num_queries):
    with django_assert_num_queries(MATRIX_QUERIES):
        small = client.get("/")
    decisions_add(30)
    with django_assert_num_queries(MATRIX_QUERIES):
        large = client.get("/")

    assert large.content.count(b"<tr") > small.content.count(b"<tr")
    assert Decision.objects.count() > 30
