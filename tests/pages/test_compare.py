"""/compare/ and record time (`recorded_as_of`) on the matrix, the compare
page and decision pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from regulatory.models import Decision, Jurisdiction
from regulatory.services import decision_update
from tests.pages.sample import decisions_add
from tests.pages.test_matrix import MATRIX_QUERIES, cell_html

# The validator, jurisdictions, therapies; the cells on both dates (coverage,
# control, stage, baselines, programmes and their therapies, three source
# tables: 9 each); the decisions in between and their therapies; the programmes.
COMPARE_QUERIES = 25  # + the dataset version (for "Cite this")
# Record time: + the first record (checking `recorded_as_of`); the Changes
# (one query) and the jurisdictions' history replace the control and stage
# queries; the baselines', programmes' and the three source tables' histories
# replace the source counts.
MATRIX_RECORDED_QUERIES = MATRIX_QUERIES + 3
# The validator, the first record, jurisdictions, therapies, the Changes (both
# dates); per date the jurisdictions' history, coverage, baselines and their
# history, programmes, their therapies and history, three source histories
# (10 each); the decisions in between come from the Changes; programmes and
# their history.
COMPARE_RECORDED_QUERIES = 28  # + the dataset version
DECISION_RECORDED_QUERIES = 8  # the decision page's 6, the first record, the sources' history


def _cell(html: str, jurisdiction: str, therapy: str) -> str:
    return cell_html(html, jurisdiction, therapy)


# --- /compare/ on the sample record ----------------------------------------------------


def test_compare_defaults_to_the_year_before_today(client, sample, today):
    html = client.get("/compare/").content.decode()

    assert f'name="to" value="{today.isoformat()}"' in html
    assert f'name="from" value="{(today - dt.timedelta(days=365)).isoformat()}"' in html


@pytest.mark.parametrize(
    "params, name",
    [
        ({"from": "2023-07-02", "to": "2023-07-01"}, "from"),
        ({"from": "1899-01-01", "to": "2023-07-01"}, "from"),
        ({"from": "2023-01-01", "to": "2201-01-01"}, "to"),
        ({"from": "1 July", "to": "2023-07-01"}, "from"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2020-01-01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2026-06-02"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2026-06-01T12:01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2026-06-01 12:00"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2026-06-01\x00"}, "recorded_as_of"),
        ({"from": "2023-06-30\x00", "to": "2023-07-01"}, "from"),
    ],
)
def test_compare_answers_400_naming_the_parameter(client, sample, params, name):
    response = client.get("/compare/", params)

    assert response.status_code == 400
    assert f'<code class="param">{name}</code>' in response.content.decode()


def test_compare_in_record_time_leaves_out_a_correction_recorded_later(client, sample, today):
    params = {"from": "2023-06-30", "to": "2023-07-01"}
    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        _correct_the_au_rescheduling(sample)
        now = _cell(client.get("/compare/", params).content.decode(), "au", "mdma-ptsd")
        html = client.get("/compare/", {**params, "recorded_as_of": yesterday}).content.decode()
    then = _cell(html, "au", "mdma-ptsd")

    assert "<ins>Schedule 4" in now
    assert "<ins>Schedule 8" in then
    assert "Record time:" in html
    assert 'href="/compare/?from=2023-06-30&amp;to=2023-07-01">Show today’s record</a>' in html


def test_the_matrix_offers_compare_with_a_date_what_changed_since_and_each_cells_history(client, sample, today):
    html = client.get("/", {"as_of": "2024-09-01"}).content.decode()

    assert 'action="/compare/"' in html
    assert 'name="to" value="2024-09-01"' in html
    assert 'href="/compare/?from=2023-09-02&amp;to=2024-09-01"' in html
    assert "What changed since 2 Sep 2023" in html
    assert 'href="/api/v1/status/history/?jurisdiction=us&amp;therapy=mdma-ptsd"' in _cell(html, "us", "mdma-ptsd")


def test_compare_runs_the_same_number_of_queries_whatever_the_size_of_the_record(
    client, sample, django_assert_num_queries
):
    params = {"from": "2023-06-30", "to": "2024-09-01"}
    with django_assert_num_queries(COMPARE_QUERIES):
        small = client.get("/compare/", params)
    decisions_add(30)
    with django_assert_num_queries(COMPARE_QUERIES):
        large = client.get("/compare/", params)

    assert small.status_code == large.status_code == 200
    assert large.content.count(b"<tr") > small.content.count(b"<tr")


def test_compare_in_record_time_runs_the_same_number_of_queries_whatever_the_size(
    client, sample, django_assert_num_queries
):
    params = {"from": "2023-06-30", "to": "2024-09-01", "recorded_as_of": "2026-06-01"}
    with django_assert_num_queries(COMPARE_RECORDED_QUERIES):
        small = client.get("/compare/", params)
    decisions_add(30)
    with django_assert_num_queries(COMPARE_RECORDED_QUERIES):
        large = client.get("/compare/", params)

    assert small.status_code == large.status_code == 200
    assert b"Record time:" in large.content


# --- record time on the matrix and on decision pages ---------------------------------------


def _correct_the_au_rescheduling(sample) -> None:
    decision_update(
        decision=sample.au_rescheduling,
        data={"control_instrument": "Schedule 4, corrected", "control": "medical_use_permitted"},
        change_kind="correct",
        note="Wrong schedule.",
    )


def test_a_correction_recorded_today_leaves_the_matrix_recorded_as_of_yesterday_unchanged(client, sample, today):
    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        params = {"as_of": "2024-09-01", "recorded_as_of": yesterday}
        before = _cell(client.get("/", params).content.decode(), "au", "mdma-ptsd")
        _correct_the_au_rescheduling(sample)
        now = _cell(client.get("/", {"as_of": "2024-09-01"}).content.decode(), "au", "mdma-ptsd")
        response = client.get("/", params)
    html = response.content.decode()

    assert "Schedule 4" in now
    assert "Schedule 8" in before
    assert _cell(html, "au", "mdma-ptsd") == before
    assert "Record time:" in html
    assert 'href="/">Show today’s record</a>' in html


def test_the_matrix_in_record_time_shows_the_date_of_the_record_by_default(client, sample, today):
    html = client.get("/", {"recorded_as_of": "2026-06-01T12:00"}).content.decode()

    assert 'name="as_of" value="2026-06-01"' in html
    assert 'data-recorded-as-of="2026-06-01T12:00"' in html
    # The cells link to their decisions as they read then.
    refusal = f'href="/decisions/{sample.us_refusal.pk}/?recorded_as_of=2026-06-01T12%3A00"'
    assert refusal in _cell(html, "us", "mdma-ptsd")


@pytest.mark.parametrize("value", ["2020-01-01", "2026-06-02", "1800-01-01", "2026-02-30", "2026-06-01T24:00", "x"])
def test_the_matrix_answers_400_for_a_bad_record_time(client, sample, value):
    response = client.get("/", {"recorded_as_of": value})

    assert response.status_code == 400
    assert '<code class="param">recorded_as_of</code>' in response.content.decode()


def test_the_matrix_in_record_time_runs_the_same_number_of_queries_whatever_the_size(
    client, sample, django_assert_num_queries
):
    params = {"recorded_as_of": "2026-06-01"}  # today: the list of what is coming up is not empty
    with django_assert_num_queries(MATRIX_RECORDED_QUERIES):
        small = client.get("/", params)
    decisions_add(30)
    with django_assert_num_queries(MATRIX_RECORDED_QUERIES):
        large = client.get("/", params)

    assert small.status_code == large.status_code == 200


def test_a_decision_page_in_record_time_shows_the_decision_as_it_read_then(client, sample, today):
    url = f"/decisions/{sample.au_rescheduling.pk}/"
    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        _correct_the_au_rescheduling(sample)
        now = client.get(url).content.decode()
        then = client.get(url, {"recorded_as_of": yesterday}).content.decode()

    assert "Schedule 4, corrected" in now
    assert "Schedule 4, corrected" not in then
    assert "Schedule 8, Poisons Standard" in then
    assert "Record time:" in then and "Record time:" not in now
    assert f'href="{url}">Show today’s record</a>' in then
    assert "Wrong schedule." in now and "Wrong schedule." not in then


def test_a_decision_recorded_after_the_record_time_was_not_on_record_then(client, sample, today):
    from tests.factories import published_decision

    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        later = published_decision(jurisdiction=Jurisdiction.objects.get(code="ch"), announced_on=dt.date(2026, 5, 1))
        response = client.get(f"/decisions/{later.pk}/", {"recorded_as_of": yesterday})
        bad = client.get(f"/decisions/{later.pk}/", {"recorded_as_of": "2031-01-01"})

    assert response.status_code == 404
    assert bad.status_code == 400


def test_a_decision_page_in_record_time_runs_the_same_number_of_queries_whatever_the_size(
    client, sample, django_assert_num_queries
):
    url = f"/decisions/{sample.au_rescheduling.pk}/"
    with django_assert_num_queries(DECISION_RECORDED_QUERIES):
        small = client.get(url, {"recorded_as_of": "2026-06-01"})
    decisions_add(30)
    for n in range(5):
        decision_update(
            decision=Decision.objects.get(pk=sample.au_rescheduling.pk),
            data={"summary": f"Summary {n}"},
            change_kind="amend",
            note=f"Amendment {n}.",
        )
    with django_assert_num_queries(DECISION_RECORDED_QUERIES):
        large = client.get(url, {"recorded_as_of": "2026-06-01"})

    assert small.status_code == large.status_code == 200


# --- /compare/ over the shipped dataset (last: the dataset stays loaded to the module's end) -----------------------------------------------


@pytest.fixture
def shipped(dataset, db):
    from django.core.cache import cache

    cache.clear()
    return dataset


def test_compare_marks_australias_mdma_and_psilocybin_cells_and_lists_the_rescheduling(client, shipped):
    response = client.get("/compare/", {"from": "2023-06-30", "to": "2023-07-01"})
    assert response.status_code == 200
    html = response.content.decode()

    for therapy in ("mdma-ptsd", "psilocybin-trd"):
        cell = _cell(html, "au", therapy)
        assert 'data-changed="true"' in cell
        assert "cell--changed" in cell
        assert re.search(r"Control:</span> <del>Schedule 9 \(prohibited\)</del> → <ins>Schedule 8", cell)
        assert "Was: Schedule 9" in cell
    assert 'data-changed="true"' not in _cell(html, "us", "mdma-ptsd")
    assert html.count('data-changed="true"') == 2
    decisions = html.split('id="decisions-heading"', 1)[1].split('id="programmes-heading"', 1)[0]
    rescheduling = Decision.objects.get(jurisdiction__code="au", kind="scheduling", effective_on=dt.date(2023, 7, 1))
    assert f'data-decision="{rescheduling.pk}"' in decisions
    assert 'data-programme="au-authorised-prescriber-mdma-psilocybine"' in html
    assert "/api/v1/status/changes/?from=2023-06-30&amp;to=2023-07-01" in html


def test_compare_offers_a_citation_pinned_to_both_dates_and_the_record_time(client, shipped):
    html = client.get("/compare/?from=2023-06-30&to=2023-07-01").content.decode()

    box = html[html.index('class="panel cite-box"') :]
    assert "between 30 June 2023 and 1 July 2023" in box
    assert "from=2023-06-30&amp;to=2023-07-01&amp;recorded_as_of=" in box
