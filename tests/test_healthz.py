import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import time_machine
from django.test import RequestFactory

from config import health

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "t0k3n-for-the-monitoring-system"


@pytest.fixture(autouse=True)
def _fresh_health():
    health.reset()
    yield
    health.reset()


@pytest.fixture
def token(settings):
    settings.HEALTHZ_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def counted_checks(monkeypatch):
    """The checks replaced by a healthy answer that takes a while, counted."""
    calls = []

    def slow_check() -> dict:
        calls.append(threading.get_ident())
        time.sleep(0.5)
        return {"status": "ok", "checks": {"workers": {"ok": True, "workers": ["celery@host"]}}}

    monkeypatch.setattr(health, "health_check", slow_check)
    return calls


@pytest.mark.django_db
def test_it_reports_a_broker_that_is_down_with_503(client, settings, token):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["workers"]["ok"] is False


@pytest.mark.django_db
def test_it_shows_anonymous_callers_the_status_only(client, settings, token):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_X_HEALTHZ_TOKEN": TOKEN[:-1]}):
        response = client.get("/healthz", **headers)

        assert response.status_code == 503
        assert response.json() == {"status": "degraded"}


@pytest.mark.django_db
def test_it_shows_nothing_more_to_anyone_without_a_configured_token(client, settings):
    settings.HEALTHZ_TOKEN = ""

    response = client.get("/healthz?token=", HTTP_AUTHORIZATION="Bearer ")

    assert set(response.json()) == {"status"}


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["bearer", "header", "query"])
def test_it_shows_the_details_to_a_caller_with_the_token(client, settings, token, how):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    kwargs = {
        "bearer": {"HTTP_AUTHORIZATION": f"Bearer {token}"},
        "header": {"HTTP_X_HEALTHZ_TOKEN": token},
        "query": {"data": {"token": token}},
    }[how]

    body = client.get("/healthz", **kwargs).json()

    assert body["checks"]["database"] == {
        "ok": True,
        "vendor": body["checks"]["database"]["vendor"],
        "ms": body["checks"]["database"]["ms"],
    }


@pytest.mark.django_db
def test_it_shows_the_details_to_staff(client, alice, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    client.force_login(alice)

    assert "checks" in client.get("/healthz").json()


@pytest.mark.django_db
def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


def test_it_runs_the_checks_once_for_fifty_concurrent_callers(counted_checks):
    from django.contrib.auth.models import AnonymousUser

    responses = []

    def call() -> None:
        request = RequestFactory().get("/healthz")
        request.user = AnonymousUser()
        responses.append(health.healthz(request))

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(counted_checks) == 1
    assert [r.status_code for r in responses] == [200] * 50


def test_it_answers_from_the_kept_result_until_it_is_older_than_the_setting(counted_checks, settings):
    settings.HEALTHZ_CACHE_SECONDS = 5
    with time_machine.travel(0, tick=False) as clock:
        health.health_result()
        clock.shift(4)
        health.health_result()
        assert len(counted_checks) == 1

        clock.shift(2)
        health.health_result()

    assert len(counted_checks) == 2


def test_it_shares_the_result_with_the_other_web_processes(counted_checks):
    health.health_result()
    health._last = None  # what another process, which has not run the checks, holds

    health.health_result()

    assert len(counted_checks) == 1


def test_it_answers_from_the_last_result_while_another_caller_runs_the_checks(counted_checks, settings):
    settings.HEALTHZ_CACHE_SECONDS = 5
    with time_machine.travel(0, tick=True) as clock:
        first = health.health_result()
        clock.shift(6)  # stale now
        runner = threading.Thread(target=health.health_result)
        runner.start()
        while len(counted_checks) < 2:
            time.sleep(0.01)

        meanwhile = health.health_result()  # the runner holds the lock: no wait, the last result
        runner.join()

    assert meanwhile == first
    assert len(counted_checks) == 2


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_is_healthy_with_a_real_worker_and_reports_one_that_died(client, token):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL (make test starts an embedded Redis)")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-n",
            "healthz@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            health.reset()
            response = client.get("/healthz", HTTP_X_HEALTHZ_TOKEN=token)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert response.status_code == 200, response.json()
        assert any(name.startswith("healthz@") for name in response.json()["checks"]["workers"]["workers"])
    finally:
        worker.kill()
        worker.wait()
    health.reset()

    response = client.get("/healthz", HTTP_X_HEALTHZ_TOKEN=token)

    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["ok"] is False
