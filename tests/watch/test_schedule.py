"""Beat, the tasks and the loader of the shipped sources."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from tests.watch.conftest import Reply, fixture_bytes
from watch import tasks
from watch.data import SHIPPED_SOURCES
from watch.models import Candidate, WatchedSource


def test_beat_runs_the_polls_and_the_weekly_link_check():
    from config.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["watch-poll-due"]["task"] == "watch.tasks.sources_poll_due"
    assert schedule["watch-link-check"]["task"] == "watch.tasks.links_check"
    assert {"watch.tasks.sources_poll_due", "watch.tasks.source_poll", "watch.tasks.links_check"} <= set(app.tasks)


def test_beat_queues_each_due_source_once_and_the_task_polls_it(server, make_source, record, monkeypatch):
    server.routes["/en/news.xml"] = Reply(
        body=fixture_bytes("ema_news.xml"), headers={"Content-Type": "application/rss+xml"}
    )
    due = make_source("EMA news", "feed", "/en/news.xml", jurisdiction=record["eu"])
    make_source("Not due", "feed", "/other.xml", next_poll_at=timezone.now() + timezone.timedelta(hours=1))
    make_source("Disabled", "feed", "/off.xml", enabled=False)
    queued: list[int] = []
    monkeypatch.setattr(tasks.source_poll, "delay", queued.append)

    assert tasks.sources_poll_due() == 1
    assert queued == [due.pk]
    tasks.source_poll(due.pk)
    tasks.source_poll(due.pk)  # a second delivery of the same task: no longer due

    assert len(server.requests_to("/en/news.xml")) == 1
    assert Candidate.objects.count() == 1


def test_watch_sources_once_polls_every_enabled_source_and_prints_a_summary(server, make_source, record):
    server.routes["/en/news.xml"] = Reply(
        body=fixture_bytes("ema_news.xml"), headers={"Content-Type": "application/rss+xml"}
    )
    server.routes["/down.xml"] = Reply(500, b"", {})
    make_source("EMA news", "feed", "/en/news.xml", jurisdiction=record["eu"])
    make_source("Down", "feed", "/down.xml")
    out = StringIO()

    call_command("watch_sources", "--once", stdout=out)

    text = out.getvalue()
    assert "EMA news: 2 item(s), 1 new candidate(s), 0 already proposed, 0 already cited, 1 not matching" in text
    assert "Down: ERROR HTTP 500 from 127.0.0.1" in text
    assert "2 source(s) polled: 1 new candidate(s), 1 failed." in text


def test_watch_sources_names_the_sources_when_one_is_unknown(record):
    from django.core.management.base import CommandError

    WatchedSource.objects.create(name="EMA news", adapter="feed", url="https://www.ema.europa.eu/en/news.xml")

    with pytest.raises(CommandError, match="No watched source is named 'EMA'. Sources: EMA news"):
        call_command("watch_sources", "--source", "EMA")


def test_the_shipped_sources_load_once_and_keep_an_editors_changes(record):
    call_command("load_watch_sources", stdout=StringIO())
    WatchedSource.objects.filter(name="EMA news").update(url="https://www.ema.europa.eu/en/edited.xml", enabled=False)

    call_command("load_watch_sources", stdout=StringIO())

    assert WatchedSource.objects.count() == len(SHIPPED_SOURCES)
    ema = WatchedSource.objects.get(name="EMA news")
    assert (ema.url, ema.enabled, ema.jurisdiction, ema.regulator) == (
        "https://www.ema.europa.eu/en/edited.xml",
        False,
        record["eu"],
        record["ema"],
    )
    fr = WatchedSource.objects.get(name="Federal Register: MDMA")
    assert fr.url.startswith("https://www.federalregister.gov/api/v1/documents.json?conditions[term]=MDMA&")
    assert WatchedSource.objects.get(name="ClinicalTrials.gov: psilocybin").url == (
        "https://clinicaltrials.gov/api/v2/studies?query.intr=psilocybin&sort=LastUpdatePostDate:desc&pageSize=100"
    )
