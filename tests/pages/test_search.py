"""Search at /search/?q= (decisions, programmes, regulators, sources), and the
API's `q`, which uses the same matching function. Runs on PostgreSQL
(full-text) and on SQLite (the substring fallback): see regulatory/search.py."""

from __future__ import annotations

import re

import pytest

from regulatory import search
from regulatory.models import Decision, SourceGrade
from tests.pages.sample import decisions_add

# The ETag version; jurisdictions, therapies, regulators (the form's lists);
# decisions (+ therapies, sources); programmes (+ therapies, sources);
# regulators; decisions' sources; programmes' sources.
SEARCH_QUERIES = 13
URL = "/search/"


def section(html: str, key: str) -> str:
    match = re.search(rf'<section[^>]*data-results="{key}".*?</section>', html, re.S)
    assert match, f"no {key} section"
    return match.group(0)


def decision_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-decision="(\d+)"', html)}


# --- on the sample record -------------------------------------------------------------


def test_it_finds_decisions_programmes_regulators_and_sources(client, sample):
    html = client.get(URL, {"q": "compassionate"}).content.decode()

    assert decision_ids(section(html, "decisions")) == {sample.de_programme.pk}
    assert 'data-programme="de-psilocybin-compassionate-use"' in section(html, "programmes")

    regulators = section(client.get(URL, {"q": "Enforcement"}).content.decode(), "regulators")
    assert 'data-regulator="dea"' in regulators and 'href="/jurisdictions/us/"' in regulators

    sources = section(client.get(URL, {"q": "Lykos"}).content.decode(), "sources")
    assert "Lykos announces CRL" in sources and f'href="/decisions/{sample.us_refusal.pk}/"' in sources


def test_every_word_must_match(client, sample):
    both = client.get(URL, {"q": "complete response"}).content.decode()
    one_missing = client.get(URL, {"q": "complete banana"}).content.decode()

    assert decision_ids(section(both, "decisions")) == {sample.us_refusal.pk}
    assert decision_ids(section(one_missing, "decisions")) == set()
    assert "Nothing found" in one_missing


def test_it_filters_by_jurisdiction_therapy_kind_regulator_grade_verified_and_dates(client, sample):
    def found(**filters) -> set[int]:
        return decision_ids(section(client.get(URL, {"q": "FDA", **filters}).content.decode(), "decisions"))

    fda = {sample.us_designation.pk, sample.us_acceptance.pk, sample.us_refusal.pk}
    assert found() >= fda
    assert found(jurisdiction="au") == set()
    assert found(therapy="psilocybin-trd") == set()
    assert found(kind="refusal") == {sample.us_refusal.pk}
    assert found(regulator="fda") == fda
    assert found(regulator="dea") == set()
    assert found(grade=SourceGrade.SPONSOR) == {sample.us_refusal.pk}
    Decision.objects.filter(pk=sample.us_acceptance.pk).update(verified=False)
    assert found(verified="no") == {sample.us_acceptance.pk}
    assert sample.us_acceptance.pk not in found(verified="yes")
    assert found(**{"from": "2024", "to": "2024-06"}) == {sample.us_acceptance.pk}


def test_a_decision_filter_leaves_out_the_regulators_and_a_kind_the_other_results(client, sample):
    html = client.get(URL, {"q": "FDA", "therapy": "mdma-ptsd"}).content.decode()
    assert 'data-results="regulators"' not in html and 'data-results="decisions"' in html

    programmes_only = client.get(URL, {"q": "programme", "kind": "compassionate_use"}).content.decode()
    assert 'data-results="decisions"' not in programmes_only
    assert 'data-programme="de-psilocybin-compassionate-use"' in programmes_only

    only = client.get(URL, {"q": "FDA", "type": "regulators"}).content.decode()
    assert 'data-results="regulators"' in only and 'data-results="decisions"' not in only


@pytest.mark.parametrize("q", ['"unclosed phrase', "a & b | !c :* (", "-", "or", "the", "'; drop table", "%_"])
def test_it_answers_any_odd_query_without_an_error(client, anon_client, sample, q):
    assert client.get(URL, {"q": q}).status_code == 200
    assert anon_client.get("/api/v1/decisions/", {"q": q}).status_code == 200


def test_the_fallback_reads_the_query_as_a_web_search():
    assert search.search_terms('"authorised prescriber" or mdma -psilocybin') == [
        [("authorised prescriber", True)],
        [("mdma", True), ("psilocybin", False)],
    ]


def test_without_q_it_shows_the_empty_form(client, sample):
    response = client.get(URL)

    assert response.status_code == 200
    assert b'name="q"' in response.content and b"data-results" not in response.content


@pytest.mark.parametrize("value", ["", "   ", "x" * 1000, "x" * (search.Q_MAX_LENGTH + 1), "mdma\x00"])
def test_it_answers_400_naming_q_for_an_empty_or_too_long_search(client, sample, value):
    response = client.get(URL, {"q": value})

    assert response.status_code == 400
    assert b'<code class="param">q</code>' in response.content


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("jurisdiction", "zz"),
        ("therapy", "no-such-therapy"),
        ("kind", "coronation"),
        ("regulator", "nobody"),
        ("grade", "gossip"),
        ("verified", "maybe"),
        ("from", "2024-13"),
        ("to", "yesterday"),
        ("from", "1800"),
        ("type", "people"),
    ],
)
def test_it_answers_400_naming_a_bad_filter(client, sample, param, value):
    response = client.get(URL, {"q": "FDA", param: value})

    assert response.status_code == 400
    assert f'<code class="param">{param}</code>'.encode() in response.content


def test_it_answers_400_naming_from_when_the_range_is_backwards(client, sample):
    response = client.get(URL, {"q": "FDA", "from": "2025", "to": "2024"})

    assert response.status_code == 400
    assert b'<code class="param">from</code>' in response.content


def test_the_api_finds_the_same_decisions_and_programmes_as_the_page(client, anon_client, sample):
    for q in ("FDA", "complete response", "compassionate", "Schedule"):
        page = client.get(URL, {"q": q}).content.decode()
        api = anon_client.get("/api/v1/decisions/", {"q": q, "page_size": 100}).json()["results"]
        assert {d["id"] for d in api} == decision_ids(section(page, "decisions")), q
        programmes = anon_client.get("/api/v1/access-programmes/", {"q": q}).json()["results"]
        assert {p["slug"] for p in programmes} == set(
            re.findall(r'data-programme="([^"]+)"', section(page, "programmes"))
        ), q


@pytest.mark.parametrize("value", ["", " ", "x" * 1000])
@pytest.mark.parametrize("endpoint", ["/api/v1/decisions/", "/api/v1/access-programmes/"])
def test_the_api_answers_400_naming_q_for_an_empty_or_too_long_search(anon_client, sample, endpoint, value):
    response = anon_client.get(endpoint, {"q": value})

    assert response.status_code == 400
    assert "q" in response.json()


def test_the_page_the_timeline_and_the_api_read_q_with_one_field(client, anon_client, sample):
    """One `q` field (regulatory.search.SearchTextField), one bound; each
    place keeps its own wording, and only the timeline takes a blank box."""
    from regulatory.api.filters import DecisionFilter
    from regulatory.pages.parameters import TimelineForm
    from regulatory.pages.search import SearchForm

    assert type(SearchForm.base_fields["q"]) is search.SearchTextField
    assert type(TimelineForm.base_fields["q"]) is search.SearchTextField
    assert DecisionFilter.base_filters["q"].field_class is search.SearchTextField

    too_long = "x" * (search.Q_MAX_LENGTH + 1)
    assert "enter one or more words to search for." in client.get(URL, {"q": "  "}).content.decode()
    assert "the search text is longer than 200 characters." in client.get(URL, {"q": too_long}).content.decode()
    assert anon_client.get("/api/v1/decisions/", {"q": " "}).json()["q"] == [
        "Enter words to search for, or leave out `q`."
    ]
    assert anon_client.get("/api/v1/decisions/", {"q": too_long}).json()["q"] == [
        "Ensure this value has at most 200 characters (it has 201)."
    ]
    assert client.get("/timeline/", {"q": "  "}).status_code == 200
    assert client.get("/timeline/", {"q": too_long}).status_code == 400


def test_the_feeds_ignore_an_empty_q(client, sample):
    assert client.get("/feeds/decisions.atom", {"q": ""}).status_code == 200
    assert client.get("/exports/decisions.csv", {"q": ""}).status_code == 200


def test_the_openapi_schema_documents_q_on_decisions_and_programmes(anon_client, db):
    schema = anon_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/decisions/", "/api/v1/access-programmes/"):
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert "q" in params, path
        assert "search page" in params["q"]["description"]


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample, django_assert_num_queries):
    with django_assert_num_queries(SEARCH_QUERIES):
        small = client.get(URL, {"q": "extra or FDA or programme or notice"})
    decisions_add(30)
    with django_assert_num_queries(SEARCH_QUERIES):
        large = client.get(URL, {"q": "extra or FDA or programme or notice"})

    assert large.content.count(b"data-decision=") > small.content.count(b"data-decision=")


def test_it_answers_304_to_its_etag(client, sample):
    first = client.get(URL, {"q": "FDA"})

    assert client.get(URL, {"q": "FDA"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# --- on the shipped dataset --------------------------------------------------------------


@pytest.fixture
def shipped(dataset, db):
    from django.core.cache import cache

    cache.clear()
    return dataset


def test_it_finds_the_midomafetamine_decisions_in_the_shipped_dataset(client, anon_client, shipped):
    html = client.get(URL, {"q": "midomafetamine"}).content.decode()
    found = Decision.objects.filter(pk__in=decision_ids(section(html, "decisions")))

    titles = {d.title for d in found}
    assert "FDA accepts the midomafetamine NDA with priority review" in titles
    assert "FDA issues a Complete Response Letter for midomafetamine" in titles
    assert {d.jurisdiction.code for d in found} == {"us"}
    api = anon_client.get("/api/v1/decisions/", {"q": "midomafetamine", "page_size": 100}).json()["results"]
    assert {d["id"] for d in api} == {d.pk for d in found}


def test_it_finds_the_lykos_decisions_and_respects_the_filters_in_the_shipped_dataset(client, shipped):
    def found(**filters) -> list[Decision]:
        html = client.get(URL, {"q": "Lykos", **filters}).content.decode()
        return list(Decision.objects.filter(pk__in=decision_ids(section(html, "decisions"))))

    everything = found()
    assert len(everything) >= 4
    assert "Post-CRL meeting between FDA and Lykos on the path forward" in {d.title for d in everything}
    assert {d.jurisdiction.code for d in found(jurisdiction="us")} == {"us"}
    assert found(jurisdiction="au") == []
    assert {d.kind for d in found(kind="other")} == {"other"}
    in_2024 = found(**{"from": "2024-01-01", "to": "2024-12-31"})
    assert in_2024 and all(d.announced_on.year == 2024 for d in in_2024)
    assert all(d.sources.filter(grade="official").exists() for d in found(grade="official"))
    assert len(found(therapy="psilocybin-trd")) < len(everything)
