"""HTTP for the watchers and the link check, polite and bounded.

Every request: a descriptive User-Agent, a timeout, at most WATCH_MAX_BYTES
read, redirects followed up to WATCH_MAX_REDIRECTS, only http(s). Requests to
one host go one at a time with at least WATCH_HOST_INTERVAL seconds between
them, across processes (a Redis lock and the time of the last request kept in
Redis; one process's own lock when Redis is down). 5xx answers, timeouts and
connection failures are retried with exponential backoff; anything else that
goes wrong is a SourceError with a reason a person can act on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Patched by tests to observe the waits without spending them.
sleep = time.sleep


class SourceError(Exception):
    """A source could not be read; str(exc) says why."""


class TransientError(SourceError):
    """A failure worth retrying: a 5xx answer, a timeout, a refused connection."""

    def __init__(self, reason: str, *, status_code: int | None = None, dns: bool = False) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.dns = dns


@dataclass
class Fetched:
    status_code: int
    url: str  # after redirects
    headers: httpx.Headers
    content: bytes = b""
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


_local_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_local_last: dict[str, float] = {}


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


@contextmanager
def host_turn(host: str) -> Iterator[None]:
    """Hold the host for one request: wait for any other request to it to end,
    then for the minimum interval since the last one started."""
    interval = settings.WATCH_HOST_INTERVAL
    hold = settings.WATCH_TIMEOUT * 4 + 10  # a stuck holder's lock expires
    with _local_locks[host]:
        lock = None
        try:
            client = _redis()
            lock = client.lock(f"watch:host:{host}", timeout=hold, blocking_timeout=hold)
            if not lock.acquire():
                raise TransientError(f"{host} stayed busy for {hold} s (another request to it did not finish)")
            raw = client.get(f"watch:host:{host}:last")
            last = float(raw) if raw else _local_last.get(host, 0.0)
        except redis.RedisError as exc:
            logger.warning("Redis unavailable for host politeness (%s); this process's lock only", exc)
            lock, client = None, None
            last = _local_last.get(host, 0.0)
        try:
            wait = last + interval - time.time()
            if wait > 0:
                sleep(wait)
            started = time.time()
            _local_last[host] = started
            if client is not None:
                try:
                    client.set(f"watch:host:{host}:last", started, ex=max(int(interval) + 60, 60))
                except redis.RedisError:
                    pass
            yield
        finally:
            if lock is not None:
                try:
                    lock.release()
                except redis.RedisError:
                    pass  # expired or Redis gone: nothing to release


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"not an http(s) URL: {url[:200]!r}")
    return parts.hostname.lower()


def _is_dns_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text


def request_once(
    method: str, url: str, *, headers: dict[str, str] | None = None, read_body: bool = True, retry_5xx: bool = True
) -> Fetched:
    """One request (redirects followed) in the host's turn. Raises
    TransientError for what a retry may cure, SourceError for the rest."""
    host = check_url(url)
    limit = settings.WATCH_MAX_BYTES
    sent = {"User-Agent": settings.WATCH_USER_AGENT, **(headers or {})}
    try:
        with (
            host_turn(host),
            httpx.Client(
                timeout=settings.WATCH_TIMEOUT,
                follow_redirects=True,
                max_redirects=settings.WATCH_MAX_REDIRECTS,
                headers=sent,
            ) as client,
            client.stream(method, url) as response,
        ):
            code = response.status_code
            if retry_5xx and code >= 500:
                raise TransientError(f"HTTP {code} from {host}", status_code=code)
            result = Fetched(
                status_code=code,
                url=str(response.url),
                headers=response.headers,
                redirects=[str(r.url) for r in response.history],
            )
            if not read_body or code == 304:
                return result
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise SourceError(f"body of {int(declared):,} bytes refused (limit {limit:,})")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise SourceError(f"body larger than {limit:,} bytes refused")
                chunks.append(chunk)
            result.content = b"".join(chunks)
            return result
    except httpx.TooManyRedirects:
        raise SourceError(f"redirect loop or more than {settings.WATCH_MAX_REDIRECTS} redirects") from None
    except httpx.UnsupportedProtocol as exc:
        raise SourceError(f"redirected to a URL that is not http(s): {exc}") from None
    except httpx.TimeoutException:
        raise TransientError(f"timed out after {settings.WATCH_TIMEOUT} s ({host})") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        dns = _is_dns_failure(exc)
        raise TransientError(
            f"{'DNS lookup failed' if dns else 'connection failed'} for {host}: {exc}", dns=dns
        ) from None
    except httpx.HTTPError as exc:
        raise SourceError(f"HTTP error: {exc}") from None


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    read_body: bool = True,
    retries: int | None = None,
    retry_5xx: bool = True,
) -> Fetched:
    """request_once, retried with backoff on transient failures."""
    retries = settings.WATCH_RETRIES if retries is None else retries
    for attempt in range(retries + 1):
        try:
            return request_once(method, url, headers=headers, read_body=read_body, retry_5xx=retry_5xx)
        except TransientError as exc:
            if attempt == retries or exc.dns:
                if attempt:
                    exc.args = (f"{exc} (after {attempt + 1} attempts)",)
                raise
            sleep(settings.WATCH_RETRY_BACKOFF * 2**attempt)
    raise AssertionError("unreachable")


def fetch(url: str, *, etag: str = "", last_modified: str = "", accept: str = "") -> Fetched:
    """A conditional GET: 304 comes back as Fetched.not_modified; other 4xx
    are a SourceError."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if accept:
        headers["Accept"] = accept
    result = request("GET", url, headers=headers)
    if result.status_code >= 400:
        raise SourceError(f"HTTP {result.status_code} from {urlsplit(result.url).hostname}")
    return result
