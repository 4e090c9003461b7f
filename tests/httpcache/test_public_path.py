"""Public readers (no credentials) answered before DRF's dispatch and before
the user lookup: the same answer, with the same headers, as the full path;
and kept bodies in process memory, bounded in bytes."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.httpcache import answers, bodies
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


@pytest.fixture
def full_path_only(monkeypatch):
    """Send public readers down the full path, as before the short cut."""
    monkeypatch.setattr(answers, "public_answer", lambda request, **kwargs: None)


@pytest.fixture
def short_path_counter(monkeypatch):
    answered = []
    real = answers.public_answer

    def public_answer(request, **kwargs):
        response = real(request, **kwargs)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(answers, "public_answer", public_answer)
    return answered


URLS = [
    ("/api/v1/status/?as_of=2024-03-01", "application/json"),
    ("/api/v1/decisions/?jurisdiction=us", "application/json"),
    ("/api/v1/decisions/{id}/", "application/json"),
    ("/api/v1/jurisdictions/", "application/json"),
    ("/?as_of=2024-03-01", "text/html"),
    ("/timeline/?therapy=mdma-ptsd&jurisdiction=us", "text/html"),
    ("/programmes/", "text/html"),
    ("/feeds/decisions.atom", "*/*"),
    ("/exports/decisions.csv", "*/*"),
]


def _headers(response) -> dict[str, str]:
    return dict(response.headers.items())


@pytest.mark.parametrize("url, accept", URLS)
@pytest.mark.parametrize("method", ["get", "head"])
def test_a_kept_body_comes_with_the_headers_of_the_full_path(
    response_cache, record, client, monkeypatch, short_path_counter, url, accept, method
):
    url = url.format(id=record.pk)
    request = getattr(client, method)
    first = request(url, HTTP_ACCEPT=accept)  # built by the view, kept
    assert first.status_code == 200
    short = request(url, HTTP_ACCEPT=accept)
    with monkeypatch.context() as patch:
        patch.setattr(answers, "public_answer", lambda request, **kwargs: None)
        full = request(url, HTTP_ACCEPT=accept)

    assert short_path_counter == [False, True]
    assert short.status_code == full.status_code == 200
    assert short.content == full.content == first.content
    assert _headers(short) == _headers(full) == _headers(first)


@pytest.mark.parametrize("url, accept", URLS)
def test_a_304_comes_with_the_headers_of_the_full_path(record, client, monkeypatch, short_path_counter, url, accept):
    url = url.format(id=record.pk)
    etag = client.get(url, HTTP_ACCEPT=accept)["ETag"]
    short = client.get(url, HTTP_ACCEPT=accept, HTTP_IF_NONE_MATCH=etag)
    with monkeypatch.context() as patch:
        patch.setattr(answers, "public_answer", lambda request, **kwargs: None)
        full = client.get(url, HTTP_ACCEPT=accept, HTTP_IF_NONE_MATCH=etag)

    assert short_path_counter == [False, True]
    assert short.status_code == full.status_code == 304
    assert _headers(short) == _headers(full)


def test_the_api_still_says_which_methods_it_allows_on_the_short_path(record, client):
    etag = client.get("/api/v1/decisions/")["ETag"]

    response = client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert set(response["Allow"].split(", ")) == {"GET", "POST", "HEAD", "OPTIONS"}


def test_an_unacceptable_format_is_still_a_406_whatever_the_validators(record, client, response_cache):
    client.get("/api/v1/decisions/")  # a body kept for the JSON reader

    response = client.get("/api/v1/decisions/", HTTP_ACCEPT="text/csv", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == 406


def test_readers_with_credentials_take_the_full_path(record, alice, response_cache, short_path_counter, client):
    client.get("/api/v1/decisions/")
    client.force_login(alice)  # a session cookie

    response = client.get("/api/v1/decisions/")

    assert short_path_counter == [False, False]  # the kept body did not answer the signed-in reader
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]


def test_a_token_reader_takes_the_full_path(record, response_cache, short_path_counter, client):
    client.get("/api/v1/decisions/")

    response = client.get("/api/v1/decisions/", HTTP_AUTHORIZATION="Token nonsense")

    assert response.status_code == 401
    assert short_path_counter == [False, False]


def test_a_first_build_runs_the_validator_query_once(record, client, django_assert_num_queries):
    # validator, count, page, therapies, sources: as before the short cut.
    with django_assert_num_queries(5):
        assert client.get("/api/v1/decisions/").status_code == 200


def test_a_warm_read_comes_from_process_memory_without_redis(record, client, response_cache, monkeypatch):
    first = client.get("/api/v1/decisions/")

    class NoRedis:
        def get(self, *args, **kwargs):
            pytest.fail("asked Redis")

    monkeypatch.setattr(bodies, "cache", NoRedis())

    second = client.get("/api/v1/decisions/")

    assert second.content == first.content


def test_a_body_kept_in_redis_by_another_process_is_used_and_kept_here(record, client, response_cache):
    first = client.get("/api/v1/decisions/")
    bodies.local_bodies.clear()  # as if another process had built it

    second = client.get("/api/v1/decisions/")

    assert second.content == first.content
    assert bodies.local_bodies.size == len(first.content)


# --- the in-process store --------------------------------------------------------


KEPT = ("application/json", "")


def test_it_drops_the_least_recently_used_bodies_beyond_its_size(settings):
    settings.RESPONSE_CACHE_LOCAL_BYTES, settings.RESPONSE_CACHE_LOCAL_ITEM_BYTES = 30, 30
    kept = bodies.LocalBodies()
    kept.put("a", (b"a" * 10, *KEPT), 60)
    kept.put("b", (b"b" * 10, *KEPT), 60)
    kept.get("a")  # now b is the least recently used

    kept.put("c", (b"c" * 15, *KEPT), 60)

    assert kept.get("b") is None
    assert kept.get("a") is not None and kept.get("c") is not None
    assert kept.size == 25


def test_it_does_not_keep_a_body_over_the_item_limit(settings):
    settings.RESPONSE_CACHE_LOCAL_BYTES, settings.RESPONSE_CACHE_LOCAL_ITEM_BYTES = 100, 10
    kept = bodies.LocalBodies()

    kept.put("big", (b"x" * 11, *KEPT), 60)

    assert kept.get("big") is None
    assert kept.size == 0


def test_it_forgets_a_body_after_the_cache_time(settings, monkeypatch):
    kept = bodies.LocalBodies()
    now = [1000.0]
    monkeypatch.setattr(bodies.time, "monotonic", lambda: now[0])
    kept.put("a", (b"a", *KEPT), 60)

    now[0] += 61

    assert kept.get("a") is None
    assert kept.size == 0


@pytest.mark.parametrize("sent", ["{etag}", "W/{etag}", '"other", {etag}', '"other",W/{etag}'])
def test_the_short_path_compares_etags_as_django_does(record, client, short_path_counter, sent):
    etag = client.get("/api/v1/decisions/")["ETag"]

    response = client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=sent.format(etag=etag))

    assert response.status_code == 304
    assert short_path_counter == [False, True]


def test_the_short_path_leaves_other_preconditions_to_django(record, client):
    etag = client.get("/api/v1/decisions/")["ETag"]

    response = client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=etag, HTTP_IF_MATCH='"other"')

    assert response.status_code == 412


def test_a_body_built_for_one_host_is_never_served_for_another(record, client, response_cache):
    # Paginated answers carry absolute links built from the request: whoever
    # asks with another Host header (any name in ALLOWED_HOSTS) must not plant
    # them for everyone else.
    published_decision(jurisdiction=record.jurisdiction, therapies=list(record.therapies.all()))
    url = "/api/v1/decisions/?jurisdiction=us&page_size=1"
    planted = client.get(url, HTTP_HOST="localhost")
    assert planted.status_code == 200 and b"http://localhost/api/v1/decisions/" in planted.content

    for _ in range(2):
        answer = client.get(url, HTTP_HOST="127.0.0.1")
        assert answer.status_code == 200
        assert b"//localhost" not in answer.content and b"http://127.0.0.1/api/v1/decisions/" in answer.content
    assert answer["ETag"] != planted["ETag"]
    assert client.get(url, HTTP_HOST="127.0.0.1", HTTP_IF_NONE_MATCH=planted["ETag"]).status_code == 200
