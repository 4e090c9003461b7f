"""What anonymous readers can make the response cache keep in Redis (which is
also the broker): only requests made of the parameters a view reads, one
body for every Accept header answered with the same format, and never more
than the configured bytes and entries, however many distinct requests come."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.cache import cache

from regulatory.httpcache import bodies
from regulatory.models import DecisionKind
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(db):
    us, therapy = JurisdictionFactory(code="us"), TherapyFactory(slug="mdma-ptsd")
    return published_decision(
        jurisdiction=us,
        therapies=[therapy],
        kind=DecisionKind.ACCEPTANCE,
        announced_on=dt.date(2024, 2, 9),
        status="under_review",
    )


def kept_keys() -> list[bytes]:
    """The keys this test's cache prefix holds in Redis (bodies and their index)."""
    client = cache._cache.get_client(write=False)
    return list(client.scan_iter(match=cache.make_key("*"), count=1000))


def body_keys() -> list[bytes]:
    return [key for key in kept_keys() if b":body:" in key]


def junk() -> str:
    return uuid.uuid4().hex


@pytest.mark.parametrize(
    "url", ["/", "/timeline/", "/programmes/", "/feeds/decisions.atom", "/exports/decisions.csv", "/decisions/{id}/"]
)
def test_junk_query_parameters_are_answered_but_never_kept(response_cache, record, client, url):
    url = url.format(id=record.pk)
    etags = set()
    for _ in range(40):
        response = client.get(url, {f"utm_{junk()}": junk()})
        assert response.status_code == 200
        etags.add(response["ETag"])

    assert body_keys() == []
    # Honest all the same: a feed names its own URL, so no two share an ETag.
    assert len(etags) == 40


def test_a_junk_request_asked_again_is_still_not_kept(response_cache, record, client):
    """Whether a body may be kept is worked out once per URL and remembered
    with its validators: the second asking must not find it keepable."""
    url = f"/timeline/?therapy=mdma-ptsd&utm_{junk()}=1"
    first, second = client.get(url), client.get(url)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first["ETag"] == second["ETag"]
    assert body_keys() == []
    # The same page without the junk is kept.
    assert client.get("/timeline/?therapy=mdma-ptsd").status_code == 200
    assert len(body_keys()) == 1


def test_junk_accept_headers_share_the_one_kept_json_body(response_cache, record, client):
    answers = [
        client.get("/api/v1/jurisdictions/", HTTP_ACCEPT=f"application/json, text/x-{junk()}") for _ in range(40)
    ]
    plain = client.get("/api/v1/jurisdictions/", HTTP_ACCEPT="application/json")

    assert {r.status_code for r in answers} == {200}
    assert {r["ETag"] for r in answers} == {plain["ETag"]}
    assert {r.content for r in answers} == {plain.content}
    assert len(body_keys()) == 1


def test_pages_have_one_etag_and_one_kept_body_whatever_the_accept_header(response_cache, record, client):
    answers = [client.get("/timeline/", HTTP_ACCEPT=f"text/html, application/x-{junk()};q=0.{n}") for n in range(20)]

    assert len({r["ETag"] for r in answers}) == 1
    assert len(body_keys()) == 1


def test_an_accept_header_with_parameters_gets_its_own_etag_and_is_not_kept(response_cache, record, client):
    plain = client.get("/api/v1/jurisdictions/", HTTP_ACCEPT="application/json")
    indented = client.get("/api/v1/jurisdictions/", HTTP_ACCEPT="application/json; indent=4")
    junk_params = [client.get("/api/v1/jurisdictions/", HTTP_ACCEPT=f"application/json; x={junk()}") for _ in range(20)]

    assert indented.content != plain.content  # DRF's JSON renderer reads `indent`
    assert indented["ETag"] != plain["ETag"]
    assert {r.status_code for r in junk_params} == {200}
    assert len(body_keys()) == 1  # the plain one


def test_known_parameters_still_get_kept_bodies_and_304s(response_cache, record, client, django_assert_num_queries):
    url, params = "/timeline/", {"therapy": "mdma-ptsd", "jurisdiction": "us"}
    first = client.get(url, params)

    with django_assert_num_queries(1):  # the record version; the body is the kept one
        warm = client.get(url, params)
    again = client.get(url, params, HTTP_IF_NONE_MATCH=first["ETag"])

    assert warm.content == first.content and warm["ETag"] == first["ETag"]
    assert again.status_code == 304
    assert len(body_keys()) == 1


def test_a_304_is_answered_for_a_request_that_is_not_kept(response_cache, record, client):
    params = {"therapy": "mdma-ptsd", "utm_source": "newsletter"}
    first = client.get("/timeline/", params)

    again = client.get("/timeline/", params, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert body_keys() == []


def test_the_kept_bodies_never_exceed_the_number_of_entries(settings, response_cache, record, client):
    settings.RESPONSE_CACHE_MAX_ENTRIES = 5
    etags = []
    for n in range(30):  # valid, distinct searches: each a body of its own
        response = client.get("/timeline/", {"q": f"word{n}"})
        assert response.status_code == 200
        etags.append(response["ETag"])

    count, _total = bodies.kept_count()
    assert count == len(body_keys()) == 5
    # The oldest went first.
    assert {key.decode().split(":body:")[1] for key in body_keys()} == set(etags[-5:])


def test_the_kept_bodies_never_exceed_their_bytes(settings, response_cache, record, client):
    size = len(client.get("/timeline/", {"q": "probe"}).content)
    settings.RESPONSE_CACHE_MAX_BYTES = 3 * size + size // 2
    for n in range(20):
        client.get("/timeline/", {"q": f"word{n}"})

    count, total = bodies.kept_count()
    assert count == len(body_keys()) <= 3
    assert total <= settings.RESPONSE_CACHE_MAX_BYTES


def test_a_body_larger_than_the_item_limit_is_answered_but_not_kept(settings, response_cache, record, client):
    settings.RESPONSE_CACHE_ITEM_BYTES = 100

    response = client.get("/timeline/")

    assert response.status_code == 200
    assert body_keys() == []


def test_expired_bodies_leave_the_index(settings, response_cache, record, client):
    client.get("/timeline/", {"q": "old"})
    index = cache.make_key("body-index")
    redis = cache._cache.get_client(write=True)
    # As if the first body had expired a while ago.
    redis.zadd(index, {member: 1 for member in redis.zrange(index, 0, -1)})

    client.get("/timeline/", {"q": "new"})

    count, total = bodies.kept_count()
    assert count == 1
    assert total == len(redis.get(redis.zrange(index, 0, -1)[0]))


def test_many_junk_requests_leave_a_bounded_number_of_keys(settings, response_cache, record, client):
    """The probe of issue 12: junk parameters and Accept values, each one new."""
    settings.RESPONSE_CACHE_MAX_ENTRIES = 50
    for _ in range(120):
        client.get("/", {junk(): junk()}, HTTP_ACCEPT=f"text/html, */{junk()}")
        client.get("/api/v1/jurisdictions/", HTTP_ACCEPT=f"application/json, text/{junk()}")
        client.get("/timeline/", {"q": junk()})  # valid: kept, within the bound

    assert len(body_keys()) <= 50
    assert len(kept_keys()) <= 50 + 2  # and the index
