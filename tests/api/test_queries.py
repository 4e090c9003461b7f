"""A constant number of SQL queries per request, whatever the size of the data.

Each endpoint is measured with 3 and with 30 decisions (each with three
therapies and three sources) and must run exactly the same queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    ControlBaseline,
    ProgrammeKind,
    ProgrammeSource,
    ProgrammeState,
    SourceGrade,
)
from tests.factories import DecisionFactory, JurisdictionFactory, SourceFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db

# Counted below: 1 validator (ETag), then the endpoint's own queries.
ANONYMOUS = {
    "/api/v1/decisions/": 5,  # validator, count, page, therapies, sources
    "/api/v1/decisions/?jurisdiction=us,au&therapy=mdma-ptsd&kind=approval,refusal": 7,  # + 2 code lookups
    "/api/v1/decisions/{first}/": 4,  # validator, decision, therapies, sources
    "/api/v1/jurisdictions/": 5,  # validator, count, page, regulators, coverage
    "/api/v1/jurisdictions/us/": 4,  # validator, jurisdiction, regulators, coverage
    "/api/v1/therapies/mdma-ptsd/": 2,
    "/api/v1/access-programmes/programme-0/": 4,  # validator, programme, therapies, sources
    "/api/v1/therapies/": 3,  # validator, count, page
    "/api/v1/access-programmes/": 5,  # validator, count, page, therapies, sources
    # validator, jurisdictions, therapies; coverage, control, stage, baselines,
    # programmes and their therapies, and the sources of each (three tables).
    "/api/v1/status/?as_of=2024-09-01": 12,
    "/api/v1/status/?as_of=2024-09-01&jurisdiction=us,au": 12,  # the codes' rows are reused
    "/feeds/decisions.atom": 4,  # validator, decisions, therapies, sources
    "/feeds/decisions.atom?jurisdiction=us": 5,
    "/feeds/upcoming.ics?therapy=mdma-ptsd": 5,  # validator, therapy lookup, decisions, therapies, sources
    "/exports/decisions.csv": 4,
}
# An editor adds two: the token, and the Editors group check.
EDITOR = {"/api/v1/decisions/": 7, "/api/v1/status/?as_of=2024-09-01": 14}


def _record(size: int) -> int:
    """The record at `size`; returns the id of the first published decision."""
    us, au = JurisdictionFactory(code="us"), JurisdictionFactory(code="au")
    therapies = [TherapyFactory(slug=slug) for slug in ("mdma-ptsd", "psilocybin-trd", "mdma-mdd")]
    first = None
    for n in range(size):
        decision = published_decision(
            jurisdiction=(us, au)[n % 2],
            therapies=therapies,
            status="under_review",
            announced_on=dt.date(2024, 1, 1) + dt.timedelta(days=n),
            target_on=dt.date(2031, 1, 1),
        )
        for k in range(2):
            SourceFactory(decision=decision, url=f"https://example.org/{n}/{k}")
        DecisionFactory(jurisdiction=us, therapies=therapies)  # a draft, seen by editors only
        programme = AccessProgramme.objects.create(
            slug=f"programme-{n}",
            name=f"Programme {n}",
            jurisdiction=au,
            kind=ProgrammeKind.SPECIAL_ACCESS,
            summary="…",
            state=ProgrammeState.OPEN,
        )
        programme.therapies.set(therapies)
        for k in range(3):
            ProgrammeSource.objects.create(
                programme=programme,
                url=f"https://example.org/p/{n}/{k}",
                title="t",
                publisher="p",
                grade=SourceGrade.OFFICIAL,
            )
        control = published_decision(
            jurisdiction=(us, au)[n % 2],
            therapies=therapies,
            status="prohibited",
            announced_on=dt.date(1985, 1, 1) + dt.timedelta(days=n),
        )
        SourceFactory(decision=control, url=f"https://example.org/control/{n}")
        first = first or decision.pk
    for jurisdiction in (us, au):
        jurisdiction.covers_substances = ["MDMA"]
        jurisdiction.save()
        jurisdiction.covers_therapies.set(therapies)
        baseline = ControlBaseline.objects.create(
            jurisdiction=jurisdiction, substance="psilocybin", control="prohibited", instrument="Schedule I, An Act"
        )
        BaselineSource.objects.create(
            baseline=baseline, url="https://example.org/baseline", title="t", publisher="p", grade=SourceGrade.OFFICIAL
        )
    return first


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("url, expected", list(ANONYMOUS.items()))
def test_it_runs_a_fixed_number_of_queries_for_anonymous_readers(
    anon_client, django_assert_num_queries, size, url, expected
):
    first = _record(size)

    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        with django_assert_num_queries(expected):
            response = anon_client.get(url.format(first=first))

    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("url, expected", list(EDITOR.items()))
def test_it_runs_a_fixed_number_of_queries_for_editors(alice_client, django_assert_num_queries, size, url, expected):
    _record(size)

    with django_assert_num_queries(expected):
        response = alice_client.get(url)

    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_it_answers_a_current_copy_with_one_query(anon_client, django_assert_num_queries, size):
    _record(size)
    etag = anon_client.get("/api/v1/decisions/")["ETag"]

    with django_assert_num_queries(1):
        response = anon_client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_it_answers_an_editors_current_copy_with_three_queries(alice_client, django_assert_num_queries):
    _record(3)
    etag = alice_client.get("/api/v1/decisions/")["ETag"]

    # The token, the Editors group check, the validator.
    with django_assert_num_queries(3):
        response = alice_client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
