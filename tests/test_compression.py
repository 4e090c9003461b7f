"""gzip for public reads (pages, API, feeds), with ETags that stay strong,
name the representation, and still give 304s, on both the full path and
the kept-body short path."""

from __future__ import annotations

import gzip

import pytest

from tests.factories import published_decision

pytestmark = pytest.mark.django_db
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


@pytest.fixture
def record(db):
    for n in range(5):
        published_decision(title=f"Decision {n} " + "with a long title " * 5)


@pytest.fixture
def kept_bodies(settings):
    """The response cache on (each test's record has versions of its own, so
    nothing kept by another test answers here)."""
    settings.RESPONSE_CACHE_SECONDS = 600


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/decisions/",
        "/timeline/",
        "/",
        "/feeds/decisions.atom",
        "/exports/decisions.csv",
        "/decisions/{id}/",
        "/api/v1/schema/",  # Lighthouse's "text compression" on the docs page's largest request
    ],
)
def test_it_compresses_a_public_read_with_its_own_strong_etag(client, record, path):
    from regulatory.models import Decision

    path = path.format(id=Decision.objects.filter(state="published").first().pk)
    plain = client.get(path)
    packed = client.get(path, **GZIP)

    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert not plain.has_header("Content-Encoding")
    assert packed["ETag"] == plain["ETag"][:-1] + '-gz"'  # strong, and not the identity one
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)


@pytest.mark.parametrize("form", ["{}", "W/{}", '"other", {}'])
def test_it_answers_304_to_the_compressed_etag_in_any_form(client, record, form):
    etag = client.get("/api/v1/decisions/", **GZIP)["ETag"]

    response = client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=form.format(etag), **GZIP)

    assert response.status_code == 304
    assert response["ETag"] == etag


def test_it_answers_304_to_the_identity_etag_with_the_identity_etag(client, record):
    etag = client.get("/api/v1/decisions/")["ETag"]

    response = client.get("/api/v1/decisions/", HTTP_IF_NONE_MATCH=etag, **GZIP)

    assert response.status_code == 304
    assert response["ETag"] == etag


@pytest.mark.parametrize("path", ["/api/v1/decisions/", "/timeline/"])
def test_it_compresses_kept_bodies_and_answers_304_on_the_short_path(
    client, record, kept_bodies, path, django_assert_max_num_queries
):
    first = client.get(path, **GZIP)
    with django_assert_max_num_queries(2):  # the record version, once a request: the body is kept
        second = client.get(path, **GZIP)
        not_modified = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"], **GZIP)

    assert second["Content-Encoding"] == "gzip"
    assert gzip.decompress(second.content) == gzip.decompress(first.content)
    assert second["ETag"] == first["ETag"]
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == first["ETag"]


def test_it_keeps_an_editors_answers_uncompressed(alice_client, record):
    response = alice_client.get("/api/v1/decisions/", **GZIP)

    assert "private" in response["Cache-Control"]
    assert not response.has_header("Content-Encoding")


def test_it_leaves_small_and_static_answers_to_others(client, record):
    assert not client.get("/healthz", **GZIP).has_header("Content-Encoding")
    static = client.get("/static/css/site.css", **GZIP)
    assert static.get("Content-Encoding") in (None, "gzip")  # WhiteNoise's own, from the source files in tests
