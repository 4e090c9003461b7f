import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_it_reports_a_broker_that_is_down_with_503(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["workers"]["ok"] is False


@pytest.mark.django_db
def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_is_healthy_with_a_real_worker_and_reports_one_that_died(client):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL (make test starts an embedded Redis)")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-n", "healthz@%h",
         "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=ROOT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            response = client.get("/healthz")
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert response.status_code == 200, response.json()
        assert any(name.startswith("healthz@") for name in response.json()["checks"]["workers"]["workers"])
    finally:
        worker.kill()
        worker.wait()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["ok"] is False
