"""Access programmes at /programmes/, and the error pages."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from regulatory.models import AccessProgramme, ProgrammeState
from regulatory.services import decision_retract
from tests.pages.sample import decisions_add

PROGRAMME_QUERIES = (
    6  # the ETag version, jurisdictions; programmes with jurisdiction and regulator, therapies, sources, decisions
)
URL = "/programmes/"


def test_it_shows_each_programme_under_its_jurisdiction(client, sample):
    html = client.get(URL).content.decode()

    group = html[html.index('id="group-de"') :]
    assert "Germany" in html[html.index('id="group-de"') - 40 : html.index('id="group-de"') + 80]
    assert "Psilocybin compassionate-use programme" in group
    assert '<span class="state-badge state--open">Open</span>' in group


def test_it_shows_dates_eligibility_prescribers_capacity_and_therapies(client, sample):
    html = client.get(URL).content.decode()

    assert '<time datetime="2025-07-11">11 Jul 2025</time>' in html
    assert "Adults with TRD." in html
    assert "Psychiatrists at the two sites." in html
    assert "About 50 patients a year" in html
    assert 'href="/timeline/?therapy=psilocybin-trd"' in html


def test_it_links_related_decisions_and_lists_sources(client, sample):
    html = client.get(URL).content.decode()

    assert f'href="/decisions/{sample.de_programme.pk}/"' in html
    assert (
        '<span class="grade-badge grade--official">Official document</span> <a href="https://example.org/bfarm-list"'
        in html
    )


def test_it_marks_a_retracted_related_decision(client, sample):
    decision_retract(decision=sample.de_programme, note="Wrong programme.")

    html = client.get(URL).content.decode()

    assert '<span class="tag tag--retracted">Retracted</span>' in html


def test_it_filters_by_state(client, sample):
    AccessProgramme.objects.create(
        slug="au-ap",
        name="Authorised Prescriber scheme",
        jurisdiction=sample.au_rescheduling.jurisdiction,
        kind="authorised_prescriber",
        summary="Psychiatrists approved by the TGA.",
        state=ProgrammeState.PLANNED,
    )

    html = client.get(URL, {"state": "planned"}).content.decode()

    assert "Authorised Prescriber scheme" in html
    assert "Psilocybin compassionate-use programme" not in html


def test_it_filters_by_jurisdiction(client, sample):
    html = client.get(URL, {"jurisdiction": "ch"}).content.decode()

    assert "Psilocybin compassionate-use programme" not in html
    assert "No access programmes match these filters." in html
    us = client.get(URL, {"jurisdiction": "us"}).content.decode()
    assert "MDMA-AT Expanded Access protocol" in us
    assert "Psilocybin compassionate-use programme" not in us


@pytest.mark.parametrize(("params", "param"), [({"state": "ajar"}, "state"), ({"jurisdiction": "zz"}, "jurisdiction")])
def test_it_answers_400_naming_the_bad_parameter(client, sample, params, param):
    response = client.get(URL, params)

    assert response.status_code == 400
    assert f'<code class="param">{param}</code>' in response.content.decode()


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_record(client, sample, django_assert_num_queries):
    with django_assert_num_queries(PROGRAMME_QUERIES):
        client.get(URL)
    decisions_add(20)
    decisions_add(21)  # a second extra programme in another jurisdiction

    with django_assert_num_queries(PROGRAMME_QUERIES):
        response = client.get(URL)

    assert response.content.decode().count('<article class="programme panel"') == 5


def test_it_renders_a_plain_500_page_without_details(db):
    request = RequestFactory().get("/")

    response = server_error(request)

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html
