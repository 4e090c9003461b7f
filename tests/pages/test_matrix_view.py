"""The matrix's filters (kept in the URL), its "follow this view" links, its
export links and its "Cite this" box; the same box on decision pages."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re

import pytest
from django.conf import settings
from django.utils import timezone

from regulatory.models import DatasetRelease
from tests.pages.sample import decisions_add
from tests.pages.test_matrix import MATRIX_QUERIES


@pytest.fixture
def release(db):
    return DatasetRelease.objects.create(
        version="2026.12.1", researched_on=dt.date(2026, 1, 1), loaded_at=timezone.now()
    )


def rows(html: str) -> list[str]:
    return re.findall(r'<tr[^>]*data-jurisdiction="([a-z-]+)"', html)


def columns(html: str) -> list[str]:
    first = re.search(r'<tr[^>]*data-jurisdiction=".*?</tr>', html, re.S).group(0)
    return re.findall(r'<td[^>]*data-therapy="([a-z0-9-]+)"', first)


def links(html: str, heading_id: str) -> dict[str, str]:
    """label -> href of the links in the list under a heading."""
    section = html[html.index(f'id="{heading_id}"') :]
    section = section[: section.index("</ul>")]
    return {
        html_lib.unescape(label): html_lib.unescape(href)
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', section)
    }


def block(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:pre|p)>', html, re.S)
    assert match, element_id
    return html_lib.unescape(match.group(1))


# --- Filters --------------------------------------------------------------------


def test_it_shows_every_row_and_column_without_filters(client, sample):
    html = client.get("/").content.decode()

    assert rows(html) == ["us", "au", "eu", "de", "ch"]
    assert columns(html) == ["mdma-ptsd", "psilocybin-trd"]


def test_it_keeps_only_the_therapies_and_jurisdictions_asked_for(client, sample):
    html = client.get("/?therapy=psilocybin-trd&jurisdiction=au&jurisdiction=us").content.decode()

    assert rows(html) == ["us", "au"]
    assert columns(html) == ["psilocybin-trd"]


def test_it_shows_member_states_under_their_union_unless_told_not_to(client, sample):
    assert rows(client.get("/?jurisdiction=eu").content.decode()) == ["eu", "de"]
    assert rows(client.get("/?jurisdiction=eu&members=0").content.decode()) == ["eu"]
    assert rows(client.get("/?members=0").content.decode()) == ["us", "au", "eu", "ch"]


def test_it_keeps_the_filters_in_the_form_and_when_the_date_changes(client, sample):
    html = client.get("/?therapy=mdma-ptsd&jurisdiction=au&members=0&as_of=2024-03-01").content.decode()

    assert re.search(r'name="therapy" value="mdma-ptsd" checked', html)
    assert not re.search(r'name="therapy" value="psilocybin-trd" checked', html)
    assert re.search(r'name="jurisdiction" value="au" checked', html)
    assert re.search(r'name="members" value="0" checked', html)
    as_of_form = html[html.index('class="as-of-form"') :]
    as_of_form = as_of_form[: as_of_form.index("</form>")]
    for name, value in (("jurisdiction", "au"), ("therapy", "mdma-ptsd"), ("members", "0")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in as_of_form


def test_it_narrows_the_latest_decisions_to_the_filters(client, sample):
    html = client.get("/?jurisdiction=au").content.decode()
    latest = html[html.index('id="latest-heading"') :]

    assert sample.au_rescheduling.title in latest
    assert sample.us_refusal.title not in latest


@pytest.mark.parametrize(
    "query, param",
    [
        ("therapy=lsd-anxiety", "therapy"),
        ("jurisdiction=xx", "jurisdiction"),
        ("members=maybe", "members"),
        ("recorded_as_of=yesterday", "recorded_as_of"),
        ("recorded_as_of=2999-01-01", "recorded_as_of"),
        ("recorded_as_of=2026-05-01T25:00", "recorded_as_of"),
    ],
)
def test_it_answers_a_bad_filter_with_a_400_naming_it(client, sample, query, param):
    response = client.get(f"/?{query}")

    assert response.status_code == 400
    assert param in response.content.decode()


def test_it_runs_the_same_number_of_queries_filtered_whatever_the_size_of_the_record(
    client, sample, django_assert_num_queries
):
    # Filters that keep a row with each kind of fact (a query on an empty
    # list of ids is skipped by Django, which would change the count).
    url = "/?jurisdiction=us,au,eu&therapy=mdma-ptsd,psilocybin-trd&members=1"
    decisions_add(1)  # something coming up in this scope, at both sizes
    with django_assert_num_queries(MATRIX_QUERIES):
        small = client.get(url)
    decisions_add(30)
    with django_assert_num_queries(MATRIX_QUERIES):
        large = client.get(url)

    assert small.status_code == large.status_code == 200


def test_a_filtered_matrix_answers_304_to_its_etag(client, sample):
    url = "/?jurisdiction=au&therapy=mdma-ptsd"
    etag = client.get(url)["ETag"]

    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


# --- Follow this view ---------------------------------------------------------------


def test_it_links_feeds_exports_and_the_subscribe_form_with_the_scope_shown(client, sample):
    html = client.get("/?jurisdiction=eu&therapy=mdma-ptsd").content.decode()

    follow = links(html, "follow-heading")
    assert follow == {
        "New decisions (Atom)": "/feeds/decisions.atom?jurisdiction=eu,de&therapy=mdma-ptsd",
        "Upcoming dates (iCalendar)": "/feeds/upcoming.ics?jurisdiction=eu,de&therapy=mdma-ptsd",
        "Decisions (CSV)": "/exports/decisions.csv?jurisdiction=eu,de&therapy=mdma-ptsd",
        "By email": "/subscribe/?jurisdiction=eu,de&therapy=mdma-ptsd",
    }


def test_it_links_the_feeds_unfiltered_when_the_matrix_shows_everything(client, sample):
    follow = links(client.get("/").content.decode(), "follow-heading")

    assert follow["New decisions (Atom)"] == "/feeds/decisions.atom"
    assert follow["By email"] == "/subscribe/"


def test_it_names_the_rows_shown_when_member_states_are_hidden(client, sample):
    follow = links(client.get("/?members=0").content.decode(), "follow-heading")

    assert follow["New decisions (Atom)"] == "/feeds/decisions.atom?jurisdiction=us,au,eu,ch"


def test_the_follow_links_answer_with_the_same_scope(client, sample):
    follow = links(client.get("/?jurisdiction=au&therapy=mdma-ptsd").content.decode(), "follow-heading")

    atom = client.get(follow["New decisions (Atom)"]).content.decode()
    assert sample.au_rescheduling.title in atom
    assert sample.us_refusal.title not in atom
    assert client.get(follow["Upcoming dates (iCalendar)"]).status_code == 200
    assert client.get(follow["Decisions (CSV)"]).status_code == 200


def test_the_subscribe_form_comes_pre_filled_with_the_scope(client, sample):
    html = client.get("/subscribe/?jurisdiction=au,de&therapy=mdma-ptsd").content.decode()

    checked = set(re.findall(r'name="(jurisdictions|therapies)" value="([a-z-]+)"[^>]*checked', html))
    assert checked == {("jurisdictions", "au"), ("jurisdictions", "de"), ("therapies", "mdma-ptsd")}


def test_the_subscribe_form_answers_an_unknown_code_with_a_400_naming_it(client, sample):
    response = client.get("/subscribe/?therapy=lsd-anxiety")

    assert response.status_code == 400
    assert "therapy" in response.content.decode()
    assert "lsd-anxiety" in response.content.decode()


def test_it_links_the_exports_of_the_very_view_shown(client, sample):
    exports = links(client.get("/?as_of=2024-03-01&jurisdiction=au").content.decode(), "export-heading")

    assert exports == {
        "CSV": "/exports/matrix.csv?as_of=2024-03-01&jurisdiction=au",
        "CSV for Excel": "/exports/matrix.csv?as_of=2024-03-01&jurisdiction=au&bom=1",
        "XLSX": "/exports/matrix.xlsx?as_of=2024-03-01&jurisdiction=au",
    }


# --- Cite this --------------------------------------------------------------------------


def test_the_cite_box_pins_the_permalink_to_the_date_shown_and_the_record_time(client, sample, release):
    html = client.get("/?as_of=2024-03-01&therapy=mdma-ptsd").content.decode()

    permalink = html_lib.unescape(re.search(r'id="cite-permalink"[^>]*value="([^"]+)"', html).group(1))
    assert permalink == f"{settings.SITE_URL}/?as_of=2024-03-01&therapy=mdma-ptsd&recorded_as_of=2026-06-01T12:00"
    assert "recorded on <strong>1 June 2026, 12:00 UTC</strong>" in html
    assert "dataset version 2026.12.1" in html


def test_the_cite_box_keeps_a_record_time_asked_for(client, sample, release):
    # The sample is recorded at noon on 1 June 2026 (the frozen clock): a
    # record time before it would be a 400 (nothing on record yet).
    html = client.get("/?recorded_as_of=2026-06-01T12:00").content.decode()

    assert html_lib.unescape(re.search(r'id="cite-permalink"[^>]*value="([^"]+)"', html).group(1)).endswith(
        "/?as_of=2026-06-01&recorded_as_of=2026-06-01T12:00"
    )
    assert 'data-recorded-as-of="2026-06-01T12:00"' in html
    assert "1 June 2026, 12:00 UTC" in html


def test_the_cite_box_gives_apa_text(client, sample, release):
    apa = block(client.get("/?as_of=2024-03-01").content.decode(), "cite-apa")

    assert apa.startswith("Psychedelic Therapy Regulatory Tracker. (2026, June 1). ")
    assert "Regulatory status of psychedelic-assisted therapies by jurisdiction, on 1 March 2024" in apa
    assert "(Version 2026.12.1) [Data set; as recorded on 1 June 2026, 12:00 UTC]" in apa
    assert "Retrieved June 1, 2026, from http" in apa
    assert apa.endswith("/?as_of=2024-03-01&recorded_as_of=2026-06-01T12:00")


def test_the_cite_box_gives_bibtex_and_csl_json_that_parses(client, sample, release):
    html = client.get("/?as_of=2024-03-01").content.decode()

    bibtex = block(html, "cite-bibtex")
    assert bibtex.startswith("@dataset{tracker_matrix_2024_03_01,\n")
    assert "  author = {{Psychedelic Therapy Regulatory Tracker}}," in bibtex
    assert "  version = {2026.12.1}," in bibtex
    assert "  urldate = {2026-06-01}," in bibtex
    assert bibtex.count("{") == bibtex.count("}")
    (item,) = json.loads(block(html, "cite-csl"))
    assert item["type"] == "dataset"
    assert item["version"] == "2026.12.1"
    assert item["issued"] == {"date-parts": [[2026, 6, 1]]}
    assert item["URL"].endswith("/?as_of=2024-03-01&recorded_as_of=2026-06-01T12:00")
    assert item["author"] == [{"literal": "Psychedelic Therapy Regulatory Tracker"}]


def test_the_cite_box_names_the_scope_of_a_filtered_matrix(client, sample, release):
    apa = block(client.get("/?jurisdiction=au&therapy=mdma-ptsd").content.decode(), "cite-apa")

    assert "by jurisdiction (Australia; MDMA-assisted therapy for PTSD), on 1 June 2026" in apa


def test_the_cite_box_escapes_what_bibtex_would_read_as_markup(sample):
    from regulatory.pages.cite import bibtex_escape

    assert bibtex_escape("R&D {50%} #1 a_b ~x^ \\") == (
        r"R\&D \{50\%\} \#1 a\_b \textasciitilde{}x\textasciicircum{} \textbackslash{}"
    )


def test_a_decision_page_has_a_cite_box_pinned_to_the_record_time(client, sample, release):
    decision = sample.au_rescheduling
    html = client.get(f"/decisions/{decision.pk}/").content.decode()

    permalink = html_lib.unescape(re.search(r'id="cite-permalink"[^>]*value="([^"]+)"', html).group(1))
    assert permalink.endswith(f"/decisions/{decision.pk}/?recorded_as_of=2026-06-01T12:00")
    assert f"@online{{tracker_decision_{decision.pk}," in block(html, "cite-bibtex")
    (item,) = json.loads(block(html, "cite-csl"))
    assert item["type"] == "webpage"
    assert decision.title in item["title"]
    assert "[Web page; as recorded on 1 June 2026, 12:00 UTC]" in block(html, "cite-apa")


def test_the_cite_box_needs_no_inline_script(client, sample):
    html = client.get("/").content.decode()

    assert "<script>" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " onclick=" not in html


def test_the_print_layout_hides_navigation_and_keeps_the_legend_and_citation():
    from pathlib import Path

    css = Path(settings.BASE_DIR, "static/css/site.css").read_text()
    print_css = css[css.index("@media print") :]
    hidden = print_css[: print_css.index("{ display: none")]

    for selector in (".site-nav", ".as-of-form", ".matrix-filters", ".follow-box", ".cite-box__formats"):
        assert selector in hidden
    for kept in (".legend", ".cite-box ", ".cite-box,", ".cell__dims"):
        assert kept not in hidden
    assert "@page" in print_css
