"""Rendered reads kept under their ETag: a warm read costs the validator
query and one cache GET, and no write can leave a stale body behind."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import DecisionKind
from regulatory.services import decision_update
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    decision = published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.ACCEPTANCE,
        announced_on=dt.date(2024, 2, 9),
        status="under_review",
    )
    return decision


def test_it_answers_a_warm_read_from_the_kept_body_with_one_query(
    response_cache, record, anon_client, django_assert_num_queries
):
    first = anon_client.get("/api/v1/status/", {"as_of": "2024-03-01"})

    with django_assert_num_queries(1):
        second = anon_client.get("/api/v1/status/", {"as_of": "2024-03-01"})

    assert second.status_code == 200
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


def test_it_never_serves_a_body_kept_before_a_write(response_cache, record, anon_client, alice):
    anon_client.get("/api/v1/decisions/")

    decision_update(decision=record, by=alice, data={"title": "Corrected title"}, change_kind="correct", note="Typo.")
    response = anon_client.get("/api/v1/decisions/")

    assert response.json()["results"][0]["title"] == "Corrected title"


def test_it_keeps_pages_for_anonymous_readers_only(response_cache, record, client, alice, django_assert_num_queries):
    client.get("/", {"as_of": "2024-03-01"})
    with django_assert_num_queries(1):
        warm = client.get("/", {"as_of": "2024-03-01"})
    assert "Under review" in warm.content.decode()

    client.force_login(alice)
    signed_in = client.get("/", {"as_of": "2024-03-01"})

    assert 'href="/admin/"' in signed_in.content.decode()
    assert 'href="/admin/"' not in warm.content.decode()


def test_it_reads_without_the_cache_when_redis_is_down(settings, record, anon_client):
    settings.RESPONSE_CACHE_SECONDS = 60
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}

    first = anon_client.get("/api/v1/status/", {"as_of": "2024-03-01"})
    second = anon_client.get("/feeds/decisions.atom")

    assert (first.status_code, second.status_code) == (200, 200)


def test_it_answers_304_for_a_page_the_reader_already_has(record, client):
    first = client.get("/timeline/", {"therapy": "mdma-ptsd"})

    again = client.get("/timeline/", {"therapy": "mdma-ptsd"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
