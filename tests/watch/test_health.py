"""/healthz details name the sources failing for a day; they do not decide the status."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from watch.models import WatchedSource


def test_healthz_details_list_the_sources_failing_for_a_day(client, alice, record, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # no worker ping: the answer comes at once
    now = timezone.now()
    WatchedSource.objects.create(
        name="FDA press releases",
        adapter="feed",
        url="https://www.fda.gov/rss.xml",
        failing_since=now - dt.timedelta(hours=26),
        last_error="HTTP 503 from www.fda.gov",
    )
    WatchedSource.objects.create(
        name="EMA news",
        adapter="feed",
        url="https://www.ema.europa.eu/en/news.xml",
        failing_since=now - dt.timedelta(hours=2),
        last_error="timed out",
    )
    client.force_login(alice)

    body = client.get("/healthz").json()

    assert [s["name"] for s in body["watched_sources"]["flagged"]] == ["FDA press releases"]
    assert body["watched_sources"]["flagged"][0]["last_error"] == "HTTP 503 from www.fda.gov"
    assert "watched_sources" not in body["checks"]  # a failing source is not an outage of the tracker


def test_healthz_names_no_watched_source_to_an_anonymous_caller(client, record, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    WatchedSource.objects.create(
        name="FDA press releases",
        adapter="feed",
        url="https://www.fda.gov/rss.xml",
        failing_since=timezone.now() - dt.timedelta(hours=26),
        last_error="HTTP 503",
    )

    body = client.get("/healthz").json()

    assert "watched_sources" not in body
    assert "FDA press releases" not in str(body)
