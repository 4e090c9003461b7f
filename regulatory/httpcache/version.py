"""The record version, held in process memory and invalidated by PostgreSQL
LISTEN/NOTIFY.

`selectors.record_version()` is one statement of maxima over the Change table
and the history tables; every conditional read needs it. On PostgreSQL,
migration 0004 puts statement-level triggers on exactly those tables that
`pg_notify(CHANNEL, '')` on every INSERT, UPDATE, DELETE and TRUNCATE.
NOTIFY is transactional: it is delivered only after the writing transaction
commits, so it never announces a write that readers cannot see yet, and it
catches every writer (services, admin, loader, raw SQL).

Each process keeps a watcher thread (a daemon, started lazily on the first
call, so that it is started in each gunicorn or Celery child after the fork)
holding its own psycopg connection that LISTENs. `current()` returns the kept
version while the watcher is listening and nothing has arrived since it was
read; otherwise it runs the query.

Rules that keep it correct:

- A generation counter moves on every notification and every change of the
  watcher's state. A query that started in one generation stores its result
  only if the generation has not moved meanwhile, so a result read before a
  notification arrived is never kept after it.
- The cache is used only while LISTEN is confirmed. When the connection
  drops or errs, the cache is dropped and every call queries until the
  watcher has reconnected (with backoff) and LISTENs again.
- A call also checks (one poll(2) with no wait) whether the LISTEN socket has
  unread input: a notification or a dropped connection the thread has not
  handled yet makes the call query instead of trusting the kept version.
- A result read inside a transaction is never kept: it may include that
  transaction's own uncommitted writes, and a rollback sends no notification.
- Editors' reads always query (`fresh=True`): a client that has just written
  sees its write on the next read, whatever the notification's delivery time.
  Anonymous readers may see a commit a notification's delivery later (well
  under a millisecond on one host), which no reader can tell from a read that
  raced the commit.

SQLite (development, tests) and RECORD_VERSION_LISTEN off: every call queries.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection

from regulatory import selectors
from regulatory.selectors import RecordVersion

logger = logging.getLogger(__name__)

CHANNEL = "regulatory_record_version"
# Seconds between reconnection attempts: doubles from the first to the last.
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
# Seconds of quiet after which the watcher checks its connection, and the
# longest it waits before looking whether it has been asked to stop.
PING_EVERY, WAKE_EVERY = 30.0, 1.0
# The ping is a NOTIFY the watcher must hear back: proof that notifications
# still arrive (a dead peer, a failover, or a pooler that drops LISTEN would
# otherwise leave it trusting an old version). Without proof for this long,
# readers query.
PING_PAYLOAD = "ping"
TRUST_FOR = 2 * PING_EVERY + WAKE_EVERY


class Watcher:
    """A LISTEN connection and the version it vouches for (one per process)."""

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self.conninfo = conninfo
        self.lock = threading.Lock()
        self.generation = 0
        self.listening = False
        self.fd = -1
        self.backend_pid: int | None = None
        self.kept: RecordVersion | None = None
        self.kept_generation = -1
        # When notifications were last proven to arrive (monotonic seconds).
        self.alive_at = 0.0
        self.stopping = threading.Event()
        self.listening_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="record-version-listen", daemon=True)

    # --- the readers' side ---------------------------------------------------------

    def usable(self) -> RecordVersion | None:
        """The kept version when it can be trusted, else None."""
        kept, fd = self.kept, self.fd
        if kept is None or not self.listening or self.kept_generation != self.generation:
            return None
        if time.monotonic() - self.alive_at > TRUST_FOR:
            return None  # no proof for too long that notifications still arrive
        if _has_input(fd):
            return None  # a notification (or a hang-up) the thread has not handled yet
        return kept

    def read(self) -> RecordVersion:
        with self.lock:
            generation, listening = self.generation, self.listening
        version = selectors.record_version()
        if listening and not _in_transaction():
            with self.lock:
                if self.listening and self.generation == generation:
                    self.kept, self.kept_generation = version, generation
        return version

    # --- the watcher thread --------------------------------------------------------

    def _moved(self, *, listening: bool | None = None) -> None:
        with self.lock:
            self.generation += 1
            self.kept = None
            if listening is not None:
                self.listening = listening
                if not listening:
                    self.fd, self.backend_pid = -1, None

    def _run(self) -> None:
        import psycopg

        backoff = BACKOFF_FIRST
        while not self.stopping.is_set():
            conn = None
            try:
                conn = psycopg.connect(**self.conninfo, autocommit=True)
                # A notification that arrives while a statement runs (a ping)
                # is kept by psycopg and given by the next notifies().
                conn.execute(f"LISTEN {CHANNEL}")
                with self.lock:
                    self.fd, self.backend_pid = conn.fileno(), conn.info.backend_pid
                    self.alive_at = time.monotonic()
                self._moved(listening=True)
                self.listening_event.set()
                backoff = BACKOFF_FIRST
                pinged_at = time.monotonic()
                while not self.stopping.is_set():
                    for notify in conn.notifies(timeout=WAKE_EVERY):
                        self.alive_at = time.monotonic()
                        if notify.payload != PING_PAYLOAD or notify.pid != self.backend_pid:
                            self._moved()
                    if time.monotonic() - max(self.alive_at, pinged_at) >= PING_EVERY:
                        self.ping(conn)
                        pinged_at = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any failure: stop trusting, retry
                if not self.stopping.is_set():
                    logger.warning("record version: LISTEN connection lost (%s); querying until it is back", exc)
            finally:
                self.listening_event.clear()
                self._moved(listening=False)
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
            if self.stopping.wait(backoff):
                break
            backoff = min(backoff * 2, BACKOFF_MAX)

    def ping(self, conn) -> None:
        """Ask for a notification to ourselves: when it comes back (to the
        loop above), notifications are proven to still arrive. A dead
        connection raises here, or (with tcp_user_timeout) soon after."""
        conn.execute(f"NOTIFY {CHANNEL}, '{PING_PAYLOAD}'")

    def stop(self, *, wait: float = 0) -> None:
        self.stopping.set()
        if wait and self.thread.is_alive():
            self.thread.join(wait)


def _in_transaction() -> bool:
    return connection.in_atomic_block


_pollers = threading.local()


def _has_input(fd: int) -> bool:
    if fd < 0:
        return True
    # One poll object per thread (they may not be shared), kept for the fd.
    poller = getattr(_pollers, "poller", None)
    if poller is None or _pollers.fd != fd:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        _pollers.poller, _pollers.fd = poller, fd
    return bool(poller.poll(0))


def _conninfo() -> dict[str, Any]:
    db = connection.settings_dict  # settings.DATABASES["default"] (with the test database's name in tests)
    info: dict[str, Any] = {
        "dbname": db["NAME"],
        "connect_timeout": 5,
        "application_name": "record-version-listen",
        # A peer that vanished without a FIN is noticed within a minute, and
        # a statement sent to it fails after 30 s instead of TCP's ~15 minutes.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
    }
    for key, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"), ("PORT", "port")):
        if db.get(key):
            info[name] = str(db[key])
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey", "options"):
        if name in db.get("OPTIONS", {}):
            info[name] = db["OPTIONS"][name]
    return info


_watcher: Watcher | None = None
_watcher_pid: int | None = None
_start_lock = threading.Lock()


def watcher() -> Watcher | None:
    """This process's watcher, started on first use; None where there is none
    (SQLite, or RECORD_VERSION_LISTEN off)."""
    global _watcher, _watcher_pid
    if not settings.RECORD_VERSION_LISTEN:
        return None
    if _watcher is not None:
        return _watcher  # cleared in a forked child (see _forget_after_fork)
    if connection.vendor != "postgresql":
        return None
    pid = os.getpid()
    with _start_lock:
        if _watcher is None or _watcher_pid != pid:
            # After a fork the parent's thread does not exist here: start our own.
            _watcher, _watcher_pid = Watcher(_conninfo()), pid
            _watcher.thread.start()
    return _watcher


def _forget_after_fork() -> None:
    """In a forked child the parent's thread does not exist: start anew."""
    global _watcher, _watcher_pid, _start_lock
    _watcher, _watcher_pid, _start_lock = None, None, threading.Lock()
    _pollers.__dict__.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def current(*, fresh: bool = False) -> RecordVersion:
    """The record version: kept in memory while LISTEN vouches for it, else queried."""
    w = watcher()
    if w is None:
        return selectors.record_version()
    if not fresh:
        kept = w.usable()
        if kept is not None:
            return kept
    return w.read()


def reset() -> None:
    """Stop this process's watcher and close its connection (tests)."""
    global _watcher, _watcher_pid
    with _start_lock:
        if _watcher is not None and _watcher_pid == os.getpid():
            _watcher.stop(wait=WAKE_EVERY + 5)
        _watcher, _watcher_pid = None, None
