"""The visual timeline and the decision list at /timeline/."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
import time_machine

from regulatory.models import DecisionKind, Jurisdiction, Therapy
from regulatory.pages.chart import MARK_GAP
from regulatory.pages.parameters import BadParameter, bound_param_parse
from regulatory.services import decision_retract
from tests.factories import published_decision
from tests.pages.sample import decisions_add

TIMELINE_QUERIES = 6  # the ETag version, therapies, jurisdictions; decisions, their therapies, their sources
URL = "/timeline/"


def lanes(html: str) -> list[tuple[str, str]]:
    """(code, label) of each lane in the SVG, top to bottom."""
    return re.findall(
        r'<g class="lane" data-jurisdiction="(\w+)".*?<text class="lane__label"[^>]*>([^<]+)</text>', html, re.S
    )


def list_section(html: str) -> str:
    return html[html.index('id="list-heading"') :]


def test_it_draws_one_labelled_lane_per_jurisdiction_asked_for(client, sample):
    html = client.get(URL, {"therapy": "mdma-ptsd", "jurisdiction": "us,au"}).content.decode()

    assert lanes(html) == [("us", "United States"), ("au", "Australia")]


def test_it_accepts_jurisdictions_as_repeated_parameters(client, sample):
    html = client.get(URL + "?therapy=mdma-ptsd&jurisdiction=au&jurisdiction=us").content.decode()

    assert lanes(html) == [("au", "Australia"), ("us", "United States")]


def test_it_defaults_to_mdma_ptsd_in_every_jurisdiction_with_decisions(client, sample):
    response = client.get(URL)

    assert response.context["timeline"].params.therapy.slug == "mdma-ptsd"
    # ch has a decision on mdma-ptsd too (a consultation); eu and de have none.
    assert [code for code, _ in lanes(response.content.decode())] == ["us", "au", "ch"]


def test_it_draws_status_bands_from_each_effective_date_to_the_next(client, sample):
    chart = client.get(URL, {"jurisdiction": "us"}).context["timeline"].chart

    (lane,) = chart.lanes
    assert [(b.status, b.label) for b in lane.bands] == [
        ("prohibited", "Schedule I"),
        ("investigational", "Investigational"),
        ("review", "Under review"),
        ("refused", "Not approved"),
    ]
    for band, following in itertools.pairwise(lane.bands):
        assert band.x1 == following.x0
    assert lane.bands[-1].x1 == chart.plot_x1


def test_it_links_each_mark_to_its_decision_page_with_a_tooltip(client, sample):
    html = client.get(URL, {"jurisdiction": "us"}).content.decode()

    mark = re.search(
        rf'<a href="/decisions/{sample.us_refusal.pk}/" class="mark[^"]*"[^>]*>\s*<title>([^<]+)</title>', html
    )
    assert mark
    assert mark.group(1).startswith("9 Aug 2024 — Refusal / complete response: FDA issues a complete response letter")


def test_it_shows_dates_still_ahead_as_hollow_marks_and_a_today_line(client, db):
    with time_machine.travel(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), tick=False):
        from tests.pages.sample import sample_build

        sample = sample_build()
        html = client.get(URL, {"jurisdiction": "us"}).content.decode()

    target = re.search(
        rf'<a href="/decisions/{sample.us_acceptance.pk}/" class="mark[^"]*is-upcoming[^"]*"[^>]*'
        r'data-which="target">\s*<title>([^<]+)</title>',
        html,
    )
    assert target
    assert target.group(1).startswith("11 Aug 2024 — Target date")
    assert '<text x="' in html and ">Today</text>" in html


def test_it_draws_no_today_line_when_the_range_ends_before_today(client, sample):
    html = client.get(URL, {"jurisdiction": "us", "to": "2020"}).content.decode()

    assert ">Today</text>" not in html


def test_it_shows_dates_with_their_precision(client, sample):
    html = client.get(URL, {"jurisdiction": "us"}).content.decode()

    listed = list_section(html)
    assert '<time datetime="2017-08-01">Aug 2017</time>' in listed
    assert "1 Aug 2017" not in html
    assert "Target date Oct 2026" in client.get(URL, {"jurisdiction": "ch"}).content.decode()


def test_it_lists_the_decisions_in_date_order(client, sample):
    decisions = client.get(URL, {"jurisdiction": "us,au"}).context["timeline"].decisions

    assert [d.pk for d in decisions] == [
        sample.us_scheduling.pk,
        sample.us_designation.pk,
        sample.au_rescheduling.pk,
        sample.us_acceptance.pk,
        sample.us_refusal.pk,
    ]


def test_it_filters_the_list_by_kind(client, sample):
    timeline = client.get(URL, {"jurisdiction": "us,au", "kind": "scheduling"}).context["timeline"]

    assert [d.pk for d in timeline.decisions] == [sample.us_scheduling.pk, sample.au_rescheduling.pk]


def test_it_filters_the_list_by_announcement_date_range(client, sample):
    timeline = client.get(URL, {"jurisdiction": "us,au", "from": "2023-01-01", "to": "2024-02"}).context["timeline"]

    assert [d.pk for d in timeline.decisions] == [sample.au_rescheduling.pk, sample.us_acceptance.pk]


def test_it_filters_the_list_by_text_in_the_title_or_summary(client, sample):
    timeline = client.get(URL, {"jurisdiction": "us,au", "q": "complete RESPONSE"}).context["timeline"]

    assert [d.pk for d in timeline.decisions] == [sample.us_refusal.pk]


def test_it_shows_the_filters_in_a_form(client, sample):
    html = client.get(URL, {"kind": "refusal", "q": "letter", "from": "2024-01-01"}).content.decode()

    assert '<option value="refusal" selected>' in html
    assert 'name="q" value="letter"' in html
    assert 'name="from" value="2024-01-01"' in html
    assert "1 of 6 decisions match the filters" in html


def test_it_dims_the_marks_the_filters_leave_out(client, sample):
    html = client.get(URL, {"jurisdiction": "us", "kind": "refusal"}).content.decode()

    assert re.search(rf'href="/decisions/{sample.us_scheduling.pk}/" class="mark[^"]*is-dimmed', html)
    assert not re.search(rf'href="/decisions/{sample.us_refusal.pk}/" class="mark[^"]*is-dimmed', html)


def test_it_marks_an_unverified_decision_with_its_note(client, sample):
    published_decision(
        jurisdiction=Jurisdiction.objects.get(code="us"),
        therapies=[Therapy.objects.get(slug="mdma-ptsd")],
        kind=DecisionKind.OTHER,
        title="Company renamed",
        announced_on=dt.date(2026, 1, 1),
        verified=False,
        verification_note="Seen in one secondary source only.",
    )

    html = client.get(URL, {"jurisdiction": "us"}).content.decode()

    assert "<strong>Unverified.</strong> Seen in one secondary source only." in list_section(html)
    assert 'class="mark__flag"' in html
    assert "Company renamed · Unverified: Seen in one secondary source only.</title>" in html


def test_it_marks_a_retracted_decision(client, sample):
    decision_retract(decision=sample.us_refusal, note="Duplicate entry.")

    response = client.get(URL, {"jurisdiction": "us"})
    html = response.content.decode()

    assert "<strong>Retracted.</strong>" in list_section(html)
    assert re.search(rf'href="/decisions/{sample.us_refusal.pk}/" class="mark[^"]*is-retracted', html)
    assert [b.status for b in response.context["timeline"].chart.lanes[0].bands][-1] == "review"


def test_it_shows_what_the_latest_decision_set_under_each_lane_label(client, sample):
    html = client.get(URL, {"jurisdiction": "us,au"}).content.decode()

    assert re.search(r'<text class="lane__status band__label--refused"[^>]*>Not approved</text>', html)
    assert re.search(r'<text class="lane__status band__label--permitted"[^>]*>Schedule 8</text>', html)


def test_it_keeps_marks_in_one_row_apart(client, sample):
    decisions_add(12)  # several decisions within weeks of each other

    chart = client.get(URL).context["timeline"].chart

    for lane in chart.lanes:
        rows: dict[int, list[float]] = {}
        for mark in lane.marks:
            rows.setdefault(mark.row, []).append(mark.x)
        for xs in rows.values():
            xs.sort()
            assert all(b - a >= MARK_GAP for a, b in itertools.pairwise(xs))


def test_it_says_so_when_no_jurisdiction_has_decisions(client, sample):
    html = client.get(URL, {"therapy": "mdma-ptsd", "jurisdiction": "eu"}).content.decode()

    assert "No decisions are recorded for MDMA-assisted therapy for PTSD in the jurisdictions chosen." in html
    assert '<svg class="timeline-chart"' not in html


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"therapy": "lsd-anxiety"}, "therapy"),
        ({"jurisdiction": "us,xx"}, "jurisdiction"),
        ({"kind": "rumour"}, "kind"),
        ({"from": "abc"}, "from"),
        ({"to": "2024-02-30"}, "to"),
        ({"from": "2024-05-01", "to": "2024-01-01"}, "from"),
        ({"to": "9999-12"}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"from": "0001"}, "from"),
    ],
)
def test_it_answers_400_naming_the_bad_parameter(client, sample, params, param):
    response = client.get(URL, params)

    assert response.status_code == 400
    assert f'<code class="param">{param}</code>' in response.content.decode()


def test_it_reads_a_to_bound_as_the_end_of_its_period():
    assert bound_param_parse("to", "2024-02", end=True) == dt.date(2024, 2, 29)
    assert bound_param_parse("to", "2024", end=True) == dt.date(2024, 12, 31)
    assert bound_param_parse("from", "2024", end=False) == dt.date(2024, 1, 1)
    with pytest.raises(BadParameter):
        bound_param_parse("from", "2024-13", end=False)


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample, django_assert_num_queries):
    with django_assert_num_queries(TIMELINE_QUERIES):
        small = client.get(URL)
    decisions_add(30)
    with django_assert_num_queries(TIMELINE_QUERIES):
        large = client.get(URL)

    assert len(large.context["timeline"].decisions) > len(small.context["timeline"].decisions) + 20
