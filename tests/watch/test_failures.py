"""A source answering 500, timing out or too slow is retried, recorded and
flagged; the other sources are still polled."""

from __future__ import annotations

import datetime as dt
import threading

import time_machine
from django.utils import timezone

from tests.watch.conftest import Reply, fixture_bytes
from watch.models import Candidate, WatchedSource
from watch.selectors import sources_flagged
from watch.services import source_poll, sources_poll

RSS = {"Content-Type": "application/rss+xml"}


def _ema(server, make_source, record):
    server.routes["/en/news.xml"] = Reply(body=fixture_bytes("ema_news.xml"), headers=RSS)
    return make_source("EMA news", "feed", "/en/news.xml", jurisdiction=record["eu"])


def test_a_source_answering_500_is_retried_with_backoff_and_does_not_stop_the_others(
    server, make_source, record, settings, watch_settings
):
    settings.WATCH_RETRIES = 2
    server.routes["/broken.xml"] = Reply(500, b"Internal Server Error", {"Content-Type": "text/plain"})
    broken = make_source("FDA press releases", "feed", "/broken.xml")
    ema = _ema(server, make_source, record)

    broken_report, ema_report = sources_poll(sources=[broken, ema])

    assert len(server.requests_to("/broken.xml")) == 3
    assert watch_settings == [0.5, 1.0]  # backoff doubles between attempts
    assert broken_report.error == "HTTP 500 from 127.0.0.1 (after 3 attempts)"
    assert len(ema_report.created) == 1
    broken.refresh_from_db()
    assert broken.failing_since is not None and broken.consecutive_failures == 1
    assert broken.last_error == broken_report.error
    assert not broken.is_flagged()


def test_a_source_that_times_out_is_retried_and_recorded(server, make_source, record, settings):
    settings.WATCH_TIMEOUT = 1
    settings.WATCH_RETRIES = 1
    server.routes["/slow.xml"] = Reply(body=fixture_bytes("ema_news.xml"), headers=RSS, delay=3)
    slow = make_source("Slow feed", "feed", "/slow.xml")

    report = source_poll(source=slow)

    assert len(server.requests_to("/slow.xml")) == 2
    assert report.error.startswith("timed out after 1 s")
    assert Candidate.objects.count() == 0


def test_a_source_failing_for_a_day_is_flagged_until_it_answers_again(server, make_source, record, settings):
    settings.WATCH_RETRIES = 0
    server.routes["/feed.xml"] = [
        Reply(503, b"", {}),
        Reply(503, b"", {}),
        Reply(body=fixture_bytes("ema_news.xml"), headers=RSS),
    ]
    source = make_source("EMA news", "feed", "/feed.xml", jurisdiction=record["eu"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        source_poll(source=source)  # fails
        source.refresh_from_db()
        assert source.failing_since == start and not source.is_flagged()
    with time_machine.travel(start + dt.timedelta(hours=25), tick=False):
        source_poll(source=source)  # fails again a day later
        source.refresh_from_db()
        assert source.is_flagged()
        assert list(sources_flagged(now=timezone.now())) == [source]

        source_poll(source=source)  # answers

        source.refresh_from_db()
        assert source.failing_since is None and source.consecutive_failures == 0 and source.last_error == ""
        assert list(sources_flagged(now=timezone.now())) == []


def test_a_source_that_crashes_its_adapter_is_recorded_and_the_others_polled(server, make_source, record, monkeypatch):
    from watch import adapters

    def explode(source, fetched):
        raise KeyError("surprise")

    monkeypatch.setitem(adapters.PARSERS, "page", explode)
    server.routes["/page"] = Reply(body=b"<html><main>x</main></html>", headers={"Content-Type": "text/html"})
    crashing = make_source("A page", "page", "/page")
    ema = _ema(server, make_source, record)

    crash_report, ema_report = sources_poll(sources=[crashing, ema])

    assert crash_report.error == "internal error: KeyError: 'surprise'"
    assert WatchedSource.objects.get(pk=crashing.pk).consecutive_failures == 1
    assert len(ema_report.created) == 1


def test_requests_to_one_host_go_one_at_a_time(server, make_source, record):
    server.routes["/a.xml"] = Reply(body=fixture_bytes("ema_news.xml"), headers=RSS, delay=0.3)
    server.routes["/b.xml"] = Reply(body=fixture_bytes("ema_news.xml"), headers=RSS, delay=0.3)
    sources = [make_source("A", "feed", "/a.xml"), make_source("B", "feed", "/b.xml")]
    from watch.fetch import fetch

    threads = [threading.Thread(target=fetch, args=(s.url,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(server.seen) == 2
    assert server.max_in_flight == 1


def test_a_second_request_to_a_host_waits_out_the_minimum_interval(server, settings, watch_settings):
    settings.WATCH_HOST_INTERVAL = 30
    server.routes["/a"] = Reply(body=b"ok", headers={"Content-Type": "text/plain"})
    from watch.fetch import fetch

    fetch(server.url("/a"))
    fetch(server.url("/a"))

    assert len(watch_settings) == 1 and 0 < watch_settings[0] <= 30


def test_a_due_source_is_claimed_by_one_worker_only(make_source):
    from watch.services import source_claim

    source = make_source("EMA news", "feed", "/en/news.xml", poll_minutes=60)
    now = timezone.now()

    first = source_claim(source_id=source.pk, now=now)
    second = source_claim(source_id=source.pk, now=now)

    assert first is not None and second is None
    source.refresh_from_db()
    assert source.next_poll_at == now + dt.timedelta(minutes=60)
