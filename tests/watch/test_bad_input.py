"""Bodies that are not what the service publishes, and URLs that lead
nowhere: a source error with its reason, nothing half-written."""

from __future__ import annotations

import json

import pytest

from tests.watch.conftest import Reply, fixture_bytes
from watch.models import Candidate, WatchedSource
from watch.services import source_poll

JSON = {"Content-Type": "application/json"}


def _poll_error(server, make_source, adapter: str, reply: Reply, path: str = "/feed") -> tuple[str, WatchedSource]:
    server.routes[path] = reply
    source = make_source("Source under test", adapter, path)
    report = source_poll(source=source)
    source.refresh_from_db()
    assert Candidate.objects.count() == 0
    assert source.etag == "" and source.state == {} and source.last_success_at is None
    assert source.last_error == report.error and source.consecutive_failures == 1
    return report.error, source


def test_a_feed_that_is_not_xml_is_a_source_error(server, make_source, record):
    error, _ = _poll_error(
        server,
        make_source,
        "feed",
        Reply(
            body=b"<!DOCTYPE html><html><body><h1>Site maintenance</h1> psilocybin</body></html>",
            headers={"Content-Type": "text/html"},
            etag='"v1"',
        ),
    )

    assert error.startswith("not an RSS or Atom feed")


def test_json_that_is_not_json_is_a_source_error(server, make_source, record):
    error, _ = _poll_error(
        server, make_source, "federal_register", Reply(body=b"<html>502 Bad Gateway</html>", headers=JSON)
    )

    assert error.startswith("not JSON")


@pytest.mark.parametrize(
    "adapter, body, reason",
    [
        ("federal_register", [{"document_number": "2026-1"}], "expected an object with 'results'"),
        ("federal_register", {"count": 2, "results": "two"}, "'results' is missing or not a list"),
        (
            "federal_register",
            {"count": 1, "results": [{"title": "MDMA", "html_url": "https://x.gov/a"}]},
            "results[0] has no document_number",
        ),
        ("clinicaltrials", {"totalCount": 1}, "'studies' is missing or not a list"),
        ("clinicaltrials", {"studies": [{"protocolSection": {"statusModule": {}}}]}, "studies[0] has no nctId"),
    ],
)
def test_json_of_an_unexpected_shape_is_a_source_error(server, make_source, record, adapter, body, reason):
    error, _ = _poll_error(server, make_source, adapter, Reply(body=json.dumps(body).encode(), headers=JSON))

    assert error == f"unexpected JSON shape: {reason}"


def test_nothing_is_written_when_a_later_item_is_malformed(server, make_source, record):
    data = json.loads(fixture_bytes("federal_register_documents.json"))
    data["results"][3]["html_url"] = None  # the first three are fine and match

    error, _ = _poll_error(
        server, make_source, "federal_register", Reply(body=json.dumps(data).encode(), headers=JSON, etag='"v2"')
    )

    assert error == "unexpected JSON shape: results[3] has no html_url"


def test_a_50_mb_body_is_refused(server, make_source, record):
    def fifty_mb():
        chunk = b"<item>" + b"x" * (1024 * 1024 - 6)
        for _ in range(50):
            yield chunk

    error, _ = _poll_error(server, make_source, "feed", Reply(body=fifty_mb(), headers={"Content-Type": "text/xml"}))

    assert error == "body larger than 10,485,760 bytes refused"


def test_a_declared_50_mb_body_is_refused_before_it_is_read(server, make_source, record):
    error, _ = _poll_error(
        server,
        make_source,
        "feed",
        Reply(body=b"", headers={"Content-Type": "text/xml", "Content-Length": str(50 * 1024 * 1024)}),
    )

    assert error == "body of 52,428,800 bytes refused (limit 10,485,760)"


def test_a_redirect_loop_is_a_source_error(server, make_source, record):
    server.routes["/loop-b"] = Reply(302, b"", {"Location": "/feed"})

    error, _ = _poll_error(server, make_source, "feed", Reply(302, b"", {"Location": "/loop-b"}))

    assert error == "redirect loop or more than 10 redirects"


def test_a_redirect_to_another_scheme_is_a_source_error(server, make_source, record):
    error, _ = _poll_error(server, make_source, "feed", Reply(301, b"", {"Location": "ftp://ftp.example.org/feed"}))

    assert error.startswith("redirected to a URL that is not http(s)")


def test_a_page_that_is_not_html_is_a_source_error(server, make_source, record):
    error, _ = _poll_error(
        server, make_source, "page", Reply(body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    )

    assert error == "expected an HTML page, got application/pdf"


def test_a_page_in_another_encoding_is_read_in_that_encoding(server, make_source, record):
    # ISO-8859-1, declared only in a <meta http-equiv> (the server sends no charset).
    server.routes["/presse"] = [
        Reply(body=fixture_bytes("bfarm_page_before_latin1.html"), headers={"Content-Type": "text/html"}),
        Reply(body=fixture_bytes("bfarm_page_after_latin1.html"), headers={"Content-Type": "text/html"}),
    ]
    source = make_source("BfArM Pressemitteilungen", "page", "/presse", jurisdiction=record["eu"])

    source_poll(source=source)
    source.refresh_from_db()
    report = source_poll(source=source)

    assert "Aktuelle Mitteilungen des BfArM für Fachkreise und Öffentlichkeit." in source.state["lines"]
    (change,) = report.created
    assert change.excerpt == (
        "27.10.2026 – Genehmigung einer klinischen Prüfung mit Psilocybin für therapieresistente Depression"
    )


def test_a_source_url_that_is_not_http_is_refused_in_the_admin(client, alice, record):
    client.force_login(alice)

    for url in ("ftp://ftp.fda.gov/feed.xml", "file:///etc/passwd", "javascript:alert(1)"):
        response = client.post(
            "/admin/watch/watchedsource/add/",
            {
                "name": "Bad",
                "adapter": "feed",
                "url": url,
                "poll_minutes": "60",
                "enabled": "on",
            },
        )

        assert response.status_code == 200
        assert "Enter an http:// or https:// URL." in response.content.decode()
    assert not WatchedSource.objects.exists()


def test_a_non_http_url_that_reached_the_database_is_a_source_error(record):
    source = WatchedSource.objects.create(name="Legacy", adapter="feed", url="ftp://ftp.example.org/feed.xml")

    report = source_poll(source=source)

    assert report.error == "not an http(s) URL: 'ftp://ftp.example.org/feed.xml'"
