"""The weekly link check of the record's cited URLs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from regulatory.models import LinkStatus, Source
from tests.factories import DecisionFactory, SourceFactory
from tests.watch.conftest import Reply
from watch.links import links_check

TEXT = {"Content-Type": "text/html"}


@pytest.fixture
def links(server, record):
    server.routes.update(
        {
            "/ok": Reply(body=b"<html>fine</html>", headers=TEXT),
            "/gone": Reply(404, b"not here", TEXT),
            "/moved": Reply(301, b"", {"Location": "/moved-again"}),
            "/moved-again": Reply(302, b"", {"Location": "/final"}),
            "/final": Reply(body=b"<html>here now</html>", headers=TEXT),
            "/no-head": lambda method: Reply(405, b"", TEXT) if method == "HEAD" else Reply(body=b"ok", headers=TEXT),
            "/flaky": Reply(503, b"", TEXT),
        }
    )
    decision = DecisionFactory(
        jurisdiction=record["us"], regulator=record["fda"], with_source=False, therapies=[record["mdma-ptsd"]]
    )
    for path in ("/ok", "/gone", "/moved", "/no-head", "/flaky"):
        SourceFactory(decision=decision, url=server.url(path), title=f"Source at {path}")
    from regulatory.services import decision_publish

    decision_publish(decision=decision)
    return decision


def _source(server, path: str) -> Source:
    return Source.objects.get(url=server.url(path))


def test_a_404_is_broken_and_a_redirect_chain_records_its_final_url(server, links, settings):
    settings.WATCH_RETRIES = 0

    links_check()

    gone = _source(server, "/gone")
    assert (gone.link_status, gone.link_status_code) == (LinkStatus.BROKEN, 404)
    assert gone.link_checked_at is not None
    moved = _source(server, "/moved")
    assert (moved.link_status, moved.link_status_code) == (LinkStatus.REDIRECTED, 200)
    assert moved.link_final_url == server.url("/final")
    ok = _source(server, "/ok")
    assert (ok.link_status, ok.link_final_url) == (LinkStatus.OK, "")
    assert [s.method for s in server.requests_to("/ok")] == ["HEAD"]


def test_get_is_tried_where_head_is_refused(server, links, settings):
    settings.WATCH_RETRIES = 0

    links_check()

    assert [s.method for s in server.requests_to("/no-head")] == ["HEAD", "GET"]
    assert _source(server, "/no-head").link_status == LinkStatus.OK


def test_repeated_5xx_makes_a_link_broken_on_the_second_check(server, links, settings):
    settings.WATCH_RETRIES = 1
    settings.WATCH_LINK_BROKEN_AFTER = 2

    links_check()
    first = _source(server, "/flaky")
    results = links_check()
    second = _source(server, "/flaky")

    assert (first.link_status, first.link_failures) == (LinkStatus.FAILING, 1)
    assert (second.link_status, second.link_failures, second.link_status_code) == (LinkStatus.BROKEN, 2, 503)
    assert [r.status for r in results if r.url == server.url("/flaky")] == [LinkStatus.BROKEN]


def test_a_link_whose_host_does_not_resolve_is_broken(record, settings):
    settings.WATCH_RETRIES = 2
    decision = DecisionFactory(jurisdiction=record["us"], with_source=False, therapies=[record["mdma-ptsd"]])
    SourceFactory(decision=decision, url="http://no-such-host.invalid/notice")
    from regulatory.services import decision_publish

    decision_publish(decision=decision)

    (result,) = links_check()

    assert result.status == LinkStatus.BROKEN and result.reason.startswith("DNS lookup failed")
    assert Source.objects.get().link_status == LinkStatus.BROKEN


def test_drafts_are_not_link_checked(server, record):
    draft = DecisionFactory(jurisdiction=record["us"], with_source=False, therapies=[record["mdma-ptsd"]])
    SourceFactory(decision=draft, url=server.url("/draft-only"))

    assert links_check() == []
    assert server.seen == []


def test_the_link_check_changes_nothing_in_the_public_history(server, links, settings):
    settings.WATCH_RETRIES = 0
    changes = links.changes.count()
    history = Source.history.count()

    links_check()

    assert links.changes.count() == changes and Source.history.count() == history


def test_editors_see_a_broken_link_and_its_archived_copy_on_the_decision_page(client, alice, server, links, settings):
    settings.WATCH_RETRIES = 0
    Source.objects.filter(url=server.url("/gone")).update(archived_url="https://web.archive.org/web/2024/x")
    links_check()
    client.force_login(alice)

    page = client.get(links.get_absolute_url()).content.decode()

    assert page.count('data-link-status="broken"') == 1
    assert "Editors: link broken</strong> (HTTP 404)" in page
    assert 'href="https://web.archive.org/web/2024/x"' in page


def test_readers_do_not_see_link_marks(client, server, links, settings):
    settings.WATCH_RETRIES = 0
    links_check()

    page = client.get(links.get_absolute_url()).content.decode()

    assert "data-link-status" not in page


def test_broken_links_are_listed_in_the_admin(client, alice, server, links, settings):
    settings.WATCH_RETRIES = 0
    links_check()
    client.force_login(alice)

    page = client.get("/admin/watch/citedlink/?link=broken").content.decode()

    assert server.url("/gone") in page and server.url("/ok") not in page


def test_check_links_prints_what_it_found(server, links, settings):
    settings.WATCH_RETRIES = 0
    out = StringIO()

    call_command("check_links", stdout=out)

    text = out.getvalue()
    assert f"BROKEN {server.url('/gone')}: HTTP 404" in text
    assert f"redirected {server.url('/moved')} -> {server.url('/final')}" in text
    assert "5 URL(s) checked: 2 ok, 1 redirected, 1 failing, 1 broken" in text


def test_editors_can_give_a_source_an_archived_copy_in_the_admin(client, alice, server, links):
    client.force_login(alice)

    page = client.get(f"/admin/regulatory/decision/{links.pk}/change/").content.decode()

    assert 'name="sources-0-archived_url"' in page
