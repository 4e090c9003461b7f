import datetime as dt

import pytest

from regulatory.models import DecisionKind, Status
from regulatory.selectors import status_for, status_matrix
from regulatory.services import decision_retract
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def us_mdma(db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    published_decision(jurisdiction=us, therapies=[therapy], kind=DecisionKind.ACCEPTANCE,
                       announced_on=dt.date(2024, 2, 9), status=Status.UNDER_REVIEW)
    crl = published_decision(jurisdiction=us, therapies=[therapy], kind=DecisionKind.REFUSAL,
                             announced_on=dt.date(2024, 8, 9), status=Status.NOT_APPROVED)
    return us, therapy, crl


def test_it_gives_the_status_set_by_the_latest_effective_decision(us_mdma):
    us, therapy, crl = us_mdma

    assert status_for(jurisdiction=us, therapy=therapy, as_of=dt.date(2024, 3, 1)).status == Status.UNDER_REVIEW
    on_crl = status_for(jurisdiction=us, therapy=therapy, as_of=dt.date(2024, 8, 10))
    assert on_crl.status == Status.NOT_APPROVED
    assert on_crl.since == dt.date(2024, 8, 9)
    assert on_crl.decision_id == crl.pk


def test_it_has_no_status_before_the_first_decision(us_mdma):
    us, therapy, _ = us_mdma

    assert status_for(jurisdiction=us, therapy=therapy, as_of=dt.date(2020, 1, 1)) is None


def test_it_ignores_retracted_decisions(us_mdma):
    us, therapy, crl = us_mdma

    decision_retract(decision=crl, note="Test")

    assert status_for(jurisdiction=us, therapy=therapy, as_of=dt.date(2024, 8, 10)).status == Status.UNDER_REVIEW


def test_it_ignores_drafts(us_mdma):
    from tests.factories import DecisionFactory

    us, therapy, _ = us_mdma
    DecisionFactory(jurisdiction=us, therapies=[therapy], announced_on=dt.date(2024, 9, 1), status=Status.APPROVED)

    assert status_for(jurisdiction=us, therapy=therapy, as_of=dt.date(2025, 1, 1)).status == Status.NOT_APPROVED


def test_it_waits_for_the_effective_date_not_the_announcement(db):
    au, therapy = JurisdictionFactory(code="au"), TherapyFactory(slug="mdma-ptsd")
    published_decision(jurisdiction=au, therapies=[therapy], kind=DecisionKind.SCHEDULING,
                       announced_on=dt.date(2023, 2, 3), effective_on=dt.date(2023, 7, 1),
                       status=Status.RESTRICTED_ACCESS)

    assert status_for(jurisdiction=au, therapy=therapy, as_of=dt.date(2023, 6, 30)) is None
    assert status_for(jurisdiction=au, therapy=therapy, as_of=dt.date(2023, 7, 1)).status == Status.RESTRICTED_ACCESS


@pytest.mark.parametrize("pairs", [2, 12])
def test_it_builds_the_whole_matrix_in_one_query(db, django_assert_num_queries, pairs):
    therapies = [TherapyFactory() for _ in range(pairs // 2)]
    for _ in range(2):
        jurisdiction = JurisdictionFactory()
        for therapy in therapies:
            published_decision(jurisdiction=jurisdiction, therapies=[therapy], status=Status.INVESTIGATIONAL)

    with django_assert_num_queries(1):
        matrix = status_matrix(as_of=dt.date(2025, 1, 1))

    assert len(matrix) == pairs
