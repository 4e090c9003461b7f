"""A jurisdiction's page at /jurisdictions/<code>/ and a therapy's page at
/therapies/<slug>/, linked from the matrix headers."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from regulatory.models import Jurisdiction
from tests.factories import JurisdictionFactory
from tests.pages.sample import decisions_add

# The ETag version; jurisdictions, therapies; the cells (coverage, control,
# stage, baselines, programmes + their therapies, the decision and programme
# source tables: the US has no baseline, so Django skips the baseline sources'
# query); regulators; programmes (+ therapies, sources); decisions (+ therapies, sources).
JURISDICTION_QUERIES = 18
# The ETag version; therapies, jurisdictions; the cells (9, as on the matrix);
# decisions ahead (+ therapies, sources); programmes ahead (none for MDMA, so
# no prefetch of their therapies).
THERAPY_QUERIES = 16


def block(html: str, attribute: str, value: str) -> str:
    """The <article> carrying data-<attribute>="value"."""
    match = re.search(rf'<article[^>]*data-{attribute}="{value}".*?</article>', html, re.S)
    assert match, f"no {attribute} {value}"
    return match.group(0)


# --- /jurisdictions/<code>/ ------------------------------------------------------------


def test_it_shows_every_therapys_status_in_three_dimensions(client, sample):
    html = client.get("/jurisdictions/us/").content.decode()

    mdma = block(html, "therapy", "mdma-ptsd")
    assert "Not approved" in mdma
    assert "Stage:</span> Not approved since 9 Aug 2024" in mdma
    assert "Control:" in mdma
    assert "Access:</span> Sponsor expanded-access protocol: closed, date unknown" in mdma
    assert 'data-tone="refused"' in mdma
    assert f'href="/decisions/{sample.us_refusal.pk}/"' in mdma
    assert block(html, "therapy", "psilocybin-trd")  # every therapy, even with nothing recorded


def test_it_shows_the_review_date_and_marks_a_stale_record(client, sample):
    Jurisdiction.objects.filter(code="us").update(reviewed_to=dt.date(2026, 5, 1))
    Jurisdiction.objects.filter(code="au").update(reviewed_to=dt.date(2025, 1, 1))

    fresh = client.get("/jurisdictions/us/").content.decode()
    stale = client.get("/jurisdictions/au/").content.decode()

    assert "Record reviewed to <time" in fresh and "1 May 2026" in fresh
    assert "review-line--stale" not in fresh
    assert "review-line--stale" in stale and "<strong>stale</strong>" in stale


def test_it_lists_its_regulators_programmes_and_every_decision_by_year(client, sample):
    html = client.get("/jurisdictions/us/").content.decode()

    assert "Food and Drug Administration" in html and "Drug Enforcement Administration" in html
    assert 'data-programme="us-mdma-expanded-access"' in html
    for decision in (sample.us_scheduling, sample.us_designation, sample.us_acceptance, sample.us_refusal):
        assert f'id="decision-{decision.pk}"' in html
    assert 'id="year-1985"' in html and 'id="year-2024"' in html
    assert f'id="decision-{sample.au_rescheduling.pk}"' not in html  # another jurisdiction's


def test_it_links_the_member_states_under_a_union_and_the_union_above_them(client, sample):
    union = client.get("/jurisdictions/eu/").content.decode()
    member = client.get("/jurisdictions/de/").content.decode()

    assert 'href="/jurisdictions/de/"' in union and "Member states" in union
    assert 'href="/jurisdictions/eu/"' in member and "A member state of the European Union" in member


def test_it_calls_the_states_under_the_us_states(client, sample):
    JurisdictionFactory(code="us-nm", name="New Mexico", parent=Jurisdiction.objects.get(code="us"), position=12)

    html = client.get("/jurisdictions/us/").content.decode()
    state = client.get("/jurisdictions/us-nm/").content.decode()

    assert ">States</h2>" in html and 'href="/jurisdictions/us-nm/"' in html
    assert "A US state" in state


def test_it_lists_the_catalysts_ahead_of_the_date_shown(client, sample):
    html = client.get("/jurisdictions/de/").content.decode()

    coming = html[html.index('id="catalysts-heading"') : html.index('id="regulators-heading"')]
    assert "Programme listed to run until" in coming and "11 Jul 2026" in coming


def test_it_shows_the_status_on_an_as_of_date_with_what_was_announced_by_then(client, sample):
    html = client.get("/jurisdictions/us/", {"as_of": "2024-06-30"}).content.decode()

    assert "Under review" in block(html, "therapy", "mdma-ptsd")
    assert f'id="decision-{sample.us_refusal.pk}"' not in html  # announced later
    coming = html[html.index('id="catalysts-heading"') : html.index('id="regulators-heading"')]
    assert "PDUFA goal date" in coming and "11 Aug 2024" in coming  # the FDA's target, ahead on that date


def test_it_answers_404_for_an_unknown_code(client, sample):
    response = client.get("/jurisdictions/zz/")

    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "1800-01-01"])
def test_it_answers_400_naming_as_of_for_a_bad_date(client, sample, value):
    response = client.get("/jurisdictions/us/", {"as_of": value})

    assert response.status_code == 400
    assert b'<code class="param">as_of</code>' in response.content


def test_a_jurisdiction_page_runs_the_same_number_of_queries_whatever_the_size_of_the_record(
    client, sample, django_assert_num_queries
):
    with django_assert_num_queries(JURISDICTION_QUERIES):
        small = client.get("/jurisdictions/us/")
    decisions_add(30)
    with django_assert_num_queries(JURISDICTION_QUERIES):
        large = client.get("/jurisdictions/us/")

    assert large.content.count(b'class="decision-item') > small.content.count(b'class="decision-item')


def test_a_jurisdiction_page_answers_304_to_its_etag(client, sample):
    first = client.get("/jurisdictions/us/")
    again = client.get("/jurisdictions/us/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and first["ETag"]
    assert again.status_code == 304


# --- /therapies/<slug>/ ----------------------------------------------------------------


def test_a_therapy_page_shows_every_jurisdiction_in_three_dimensions(client, sample):
    html = client.get("/therapies/mdma-ptsd/").content.decode()

    for code in ("us", "au", "eu", "de", "ch"):
        assert f'data-jurisdiction="{code}"' in html
    au = block(html, "jurisdiction", "au")
    assert 'data-tone="access"' in au
    assert "Authorised prescribers" in au
    assert "Not approved" in block(html, "jurisdiction", "us")
    assert 'status-row--member" data-jurisdiction="de"' in html
    assert 'href="/jurisdictions/au/"' in html


def test_a_therapy_page_lists_the_catalysts_ahead_for_it(client, sample):
    html = client.get("/therapies/psilocybin-trd/").content.decode()

    coming = html[html.index('id="catalysts-heading"') :]
    assert "Oct 2026" in coming and "FOPH consults on tighter rules" in coming  # a guidance target, month only
    assert "day not known" in coming
    assert "Programme listed to run until" in coming  # the German programme, for psilocybin


def test_a_therapy_page_answers_404_for_an_unknown_slug(client, sample):
    assert client.get("/therapies/no-such-therapy/").status_code == 404


def test_a_therapy_page_answers_400_naming_as_of(client, sample):
    response = client.get("/therapies/mdma-ptsd/", {"as_of": "2024-02-30"})

    assert response.status_code == 400
    assert b'<code class="param">as_of</code>' in response.content


def test_a_therapy_page_runs_the_same_number_of_queries_whatever_the_size_of_the_record(
    client, sample, django_assert_num_queries
):
    with django_assert_num_queries(THERAPY_QUERIES):
        small = client.get("/therapies/mdma-ptsd/")
    decisions_add(30)
    with django_assert_num_queries(THERAPY_QUERIES):
        large = client.get("/therapies/mdma-ptsd/")

    assert large.content.count(b'class="upcoming__item') > small.content.count(b'class="upcoming__item')


def test_a_therapy_page_answers_304_to_its_etag(client, sample):
    first = client.get("/therapies/mdma-ptsd/")

    assert client.get("/therapies/mdma-ptsd/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# --- the matrix links to both ----------------------------------------------------------


def test_the_matrix_headers_link_to_the_jurisdiction_and_therapy_pages(client, sample):
    html = client.get("/").content.decode()

    assert 'href="/jurisdictions/us/"' in html and 'href="/jurisdictions/de/"' in html
    assert 'href="/therapies/mdma-ptsd/"' in html and 'href="/therapies/psilocybin-trd/"' in html
