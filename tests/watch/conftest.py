"""A real HTTP server on loopback serving recorded responses, and the
watched sources pointed at it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import JurisdictionFactory, RegulatorFactory, TherapyFactory
from tests.tracker.conftest import smtp_sink  # noqa: F401 - the real SMTP server the tracker's tests use
from watch import fetch
from watch.models import WatchedSource

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str = ""  # answer 304 to a request whose If-None-Match is this
    last_modified: str = ""  # answer 304 to a request whose If-Modified-Since is this


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Recorder:
    """Routes: path -> a Reply, a list of Replies served in turn (the last one
    repeats), or a callable(method) -> Reply. Every request is logged."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | list[Reply] | Callable[[str], Reply]] = {}
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def _reply(self, method: str, path: str) -> Reply:
        route = self.routes.get(path, self.routes.get(path.split("?", 1)[0]))
        if route is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if callable(route):
            return route(method)
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _serve(self) -> None:
            with recorder.lock:
                recorder.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                recorder.in_flight += 1
                recorder.max_in_flight = max(recorder.max_in_flight, recorder.in_flight)
                reply = recorder._reply(self.command, self.path)
            try:
                if reply.delay:
                    time.sleep(reply.delay)
                conditional = (reply.etag and self.headers.get("If-None-Match") == reply.etag) or (
                    reply.last_modified and self.headers.get("If-Modified-Since") == reply.last_modified
                )
                headers = dict(reply.headers)
                if reply.etag:
                    headers["ETag"] = reply.etag
                if reply.last_modified:
                    headers["Last-Modified"] = reply.last_modified
                if conditional:
                    self.send_response(304)
                    for name, value in headers.items():
                        if name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(reply.status)
                if isinstance(reply.body, bytes):
                    headers.setdefault("Content-Length", str(len(reply.body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)
                else:  # a generator: chunked, with no Content-Length
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in reply.body:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading: as it should for a refused body
            finally:
                with recorder.lock:
                    recorder.in_flight -= 1

        do_GET = do_HEAD = _serve

    return Handler


@pytest.fixture
def server():
    recorder = Recorder()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    httpd.daemon_threads = True
    recorder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield recorder
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def watch_settings(settings, monkeypatch):
    """No waiting in tests: the waits the code asks for are recorded instead."""
    settings.WATCH_HOST_INTERVAL = 0
    settings.WATCH_RETRY_BACKOFF = 0.5
    settings.WATCH_TIMEOUT = 2
    waits: list[float] = []
    monkeypatch.setattr(fetch, "sleep", waits.append)
    # Every test's server is on 127.0.0.1: forget the last test's requests to it.
    client = fetch._redis()
    for key in client.scan_iter("watch:host:*"):
        client.delete(key)
    fetch._local_last.clear()
    return waits


@pytest.fixture
def record(db):
    """The reference rows the watchers match against."""
    us = JurisdictionFactory(code="us", name="United States")
    eu = JurisdictionFactory(code="eu", name="European Union")
    gb = JurisdictionFactory(code="gb", name="United Kingdom")
    au = JurisdictionFactory(code="au", name="Australia")
    return {
        "us": us,
        "eu": eu,
        "gb": gb,
        "au": au,
        "fda": RegulatorFactory(code="fda", name="US Food and Drug Administration", jurisdiction=us),
        "ema": RegulatorFactory(code="ema", name="European Medicines Agency", jurisdiction=eu),
        "tga": RegulatorFactory(code="tga", name="Therapeutic Goods Administration", jurisdiction=au),
        "mdma-ptsd": TherapyFactory(
            slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD", substance="MDMA", indication="PTSD"
        ),
        "psilocybin-trd": TherapyFactory(
            slug="psilocybin-trd",
            name="Psilocybin therapy for TRD",
            substance="Psilocybin",
            indication="Treatment-resistant depression",
        ),
    }


@pytest.fixture
def make_source(record, server):
    def make(name: str, adapter: str, path: str, **kwargs) -> WatchedSource:
        return WatchedSource.objects.create(name=name, adapter=adapter, url=server.url(path), **kwargs)

    return make
