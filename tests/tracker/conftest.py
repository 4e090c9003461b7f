"""Fixtures for tracker tests.

Unit tests get a private cache per test (rate-limit counters never touch the
shared Redis), a recorder for queued Celery tasks, and a scripted email
backend.

End-to-end tests (`@pytest.mark.e2e`) get real parts: an SMTP server
(aiosmtpd) running in this process on a free port, and a real Celery worker
process against the real Redis (REDIS_URL, whose db is flushed before and
after each test) and the test database (committed data: `transactional_db`).
"""

from __future__ import annotations

import collections
import email
import email.policy
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.tracker.backends import ScriptedBackend

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts"


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"tracker-{uuid.uuid4()}"}
    }


@pytest.fixture(autouse=True)
def _marks_connection_closed() -> Iterator[None]:
    """Close the connection a batch opened for its sent marks (kept per
    process in a worker), so that none outlives the test database."""
    yield
    from tracker.delivery.marks import marks_connection_discard

    marks_connection_discard()


@pytest.fixture
def queued(monkeypatch) -> list[tuple[str, tuple]]:
    """Record (task name, args) for every task queued, instead of sending it to a broker."""
    from celery.app.task import Task

    calls: list[tuple[str, tuple]] = []

    def record(self, args=None, kwargs=None, **options):
        calls.append((self.name, tuple(args or ())))

    monkeypatch.setattr(Task, "apply_async", record)
    return calls


@pytest.fixture
def scripted_mail(settings) -> Iterator[type[ScriptedBackend]]:
    ScriptedBackend.reset()
    settings.EMAIL_BACKEND = "tests.tracker.backends.ScriptedBackend"
    yield ScriptedBackend
    ScriptedBackend.reset()


# --- End-to-end: an SMTP server and a Celery worker ----------------------------------


def wait_until(predicate: Callable[[], bool], *, timeout: float = 60, interval: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what or predicate}")


_MESSAGE_ID = re.compile(rb"(?im)^Message-ID:[ \t]*(.*)$")


class SmtpSink:
    """An aiosmtpd handler that keeps every message it accepts. Addresses in
    `refuse_once` get `451 4.3.0` at RCPT the first time, then are accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[list[str], bytes]] = []  # recipients, the message as sent
        # Kept as messages arrive: the tests poll it often, and re-parsing
        # thousands of headers under the lock would slow the server down.
        self.message_ids: collections.Counter = collections.Counter()
        self.refuse_once: set[str] = set()
        self.refuse_always: dict[str, str] = {}  # address -> the reply to RCPT
        self.refused: list[str] = []
        self.refuse_every = 0  # when set, every Nth RCPT (counted over all) gets 451 4.3.0
        self.rcpt_commands = 0
        # Offered in EHLO, as Postfix does; clients may then pipeline MAIL/RCPT/DATA.
        self.pipelining = True
        self.mail_commands = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses = [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_commands += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_commands += 1
            if self.refuse_every and self.rcpt_commands % self.refuse_every == 0:
                self.refused.append(address)
                return "451 4.3.0 Mailbox busy, try again later"
            if address in self.refuse_always:
                self.refused.append(address)
                return self.refuse_always[address]
            if address in self.refuse_once:
                self.refuse_once.discard(address)
                self.refused.append(address)
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Only the Message-ID is read here: parsing thousands of whole messages
        # in the server's thread would make it, not the workers, the bottleneck.
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        message_id = found.group(1).decode().strip() if found else ""
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
            self.message_ids[message_id] += 1
        return "250 Message accepted for delivery"

    @staticmethod
    def _parse(raw: bytes) -> email.message.EmailMessage:
        return email.message_from_bytes(raw, policy=email.policy.default)

    def parsed(self) -> list[tuple[list[str], email.message.EmailMessage]]:
        """(recipients, message) for every message accepted, in order."""
        with self.lock:
            received = list(self.received)
        return [(rcpts, self._parse(raw)) for rcpts, raw in received]

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raws = [raw for _, raw in self.received]
        return [self._parse(raw) for raw in raws]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            raws = [raw for rcpts, raw in self.received if address in rcpts]
        return [self._parse(raw) for raw in raws]

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def message_id_counts(self) -> collections.Counter:
        with self.lock:
            return collections.Counter(self.message_ids)

    def unique(self) -> int:
        with self.lock:
            return len(self.message_ids)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink(settings) -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    # aiosmtpd logs every SMTP command at INFO: thousands of lines per test.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    # Mail sent from this process (e.g. `send_digests`) goes to the same server.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    sink.port = controller.port
    yield sink
    controller.stop()


def _test_database_url() -> str:
    """The URL of the test database pytest-django created, for another process."""
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    auth = quote(config["USER"] or "", safe="")
    if config.get("PASSWORD"):
        auth += ":" + quote(config["PASSWORD"], safe="")
    return f"postgres://{auth}@{config['HOST'] or 'localhost'}:{config['PORT'] or 5432}/{config['NAME']}"


def redis_flush() -> None:
    """Empty this test run's Redis database (REDIS_URL's db number only)."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


class CeleryWorker:
    """A real `celery worker` process (prefork, 2 children) in its own
    process group, so that a test can SIGKILL it with its children."""

    concurrency = 2

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        from config.celery import app

        self.starts += 1
        name = f"e2e-{uuid.uuid4().hex[:8]}"
        log = open(self.log_path, "a")  # kept open for the process's lifetime
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                "-l",
                "info",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the Celery worker exited with {self.process.returncode}:\n{self.log_tail()}")
            replies = app.control.ping(timeout=0.5)
            if any(key.startswith(f"{name}@") for reply in replies for key in reply):
                return
        raise AssertionError(f"the Celery worker did not answer a ping within 60 s:\n{self.log_tail()}")

    def another(self) -> CeleryWorker:
        """A second worker with the same settings (its own log)."""
        return CeleryWorker(self.env, self.log_path.with_name(f"celery-worker-{uuid.uuid4().hex[:6]}.log"))

    def pause(self) -> None:
        """SIGSTOP the worker and its children: hung, not dead."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the worker and its children at once: no warm shutdown, no acks."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)  # a paused worker cannot take SIGTERM
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:
            # Children that outlived their parent, if any.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _worker_env(settings, smtp_sink) -> dict[str, str]:
    """What a worker or beat process of an end-to-end test runs with: the
    test database, this Redis db, the SMTP sink, and otherwise the defaults
    (heartbeats, heal and sweep intervals, claim timeout)."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "SITE_URL": settings.SITE_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        # Short retries so that the 451 test finishes in seconds.
        "TRACKER_RETRY_BASE": "1",
        "TRACKER_SEND_BATCH": str(settings.TRACKER_SEND_BATCH),
        "TRACKER_FAN_OUT_CHUNK": str(settings.TRACKER_FAN_OUT_CHUNK),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def celery_worker(transactional_db, smtp_sink, settings, tmp_path) -> Iterator[CeleryWorker]:
    """A running worker that sees this test's database and sends to `smtp_sink`."""
    redis_flush()
    worker = CeleryWorker(_worker_env(settings, smtp_sink), tmp_path / "celery-worker.log")
    worker.start()
    yield worker
    worker.stop()
    redis_flush()


class CeleryBeat:
    """A real `celery beat` process, as in production: it queues the heal
    and the sweep on their default intervals."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        log = open(directory / "celery-beat.log", "a")  # kept open for the process's lifetime
        self.log_path = directory / "celery-beat.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(directory / "celerybeat-schedule"),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def celery_beat(celery_worker, smtp_sink, settings, tmp_path) -> Iterator[CeleryBeat]:
    beat = CeleryBeat(_worker_env(settings, smtp_sink), tmp_path)
    yield beat
    beat.stop()


def fault_figures_record(name: str, figures: dict) -> None:
    """Keep the figures of a fault test (expected / received / duplicated)
    where CI can show them: printed, and in test-artifacts/."""
    print(f"\nFAULT FIGURES {name}: {json.dumps(figures)}")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "tracker-fault-figures.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
