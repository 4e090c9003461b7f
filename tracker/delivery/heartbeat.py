"""Worker heartbeats: a claim belongs to a live worker.

Each Celery worker process that sends mail (each prefork child) keeps one
WorkerHeartbeat row and renews it every TRACKER_HEARTBEAT_INTERVAL seconds
from a thread of its own; the claims it takes carry its id. A process whose
row has not been renewed for TRACKER_HEARTBEAT_TIMEOUT seconds (by the
database's clock, so hosts' clocks do not matter) is dead or stopped: the
sweeper releases its claims and queues them again at once, instead of after
TRACKER_CLAIM_TIMEOUT.

A stopped process (SIGSTOP, a frozen VM) stops beating too, and may resume
after its claims went to another worker. So before each message a batch
checks, in memory, that its process has beaten without a break since the
batch last asserted its claims; if not, it asserts them again in the
database (which also renews the heartbeat) and skips every row it no longer
holds. Only a stop between that check and the send itself can let one
message go twice: the message on the wire.

Processes that are not workers (a management command, a test, a web
request) have no heartbeat: their claims carry no worker id and are
released only after TRACKER_CLAIM_TIMEOUT, as before.

The row also says whether the process is running a task (other than the
sweeper's) and when it last started or finished one: when no live worker has worked for a while
and there is unsent work nobody holds, the broker has lost it (see
sweeper.stalled_heal).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection as db_connection
from django.db.models.functions import Now

from tracker.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass
class _Process:
    """This process's heartbeat, as its threads see it (monotonic seconds)."""

    worker_id: uuid.UUID
    name: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    beat_started: float | None = None  # when the last successful beat was issued
    broken_at: float = 0.0  # when a gap between two beats was last noticed
    written: bool = False  # the row exists: claims may carry the id
    running: int = 0  # tasks running now (not the sweeper's)
    task_event: float | None = None  # last start or end of one
    thread: threading.Thread | None = None


_process: _Process | None = None
_asserted = threading.local()  # when this thread last asserted its claims


def heartbeat_start() -> None:
    """Begin beating for this process (a worker child, after the fork)."""
    global _process
    if _process is not None and _process.thread is not None and _process.thread.is_alive():
        return
    state = _Process(worker_id=uuid.uuid4(), name=f"{socket.gethostname()}:{os.getpid()}"[:200])
    state.broken_at = time.monotonic()
    _process = state
    state.thread = threading.Thread(target=_run, args=(state,), name="tracker-heartbeat", daemon=True)
    state.thread.start()


def heartbeat_stop() -> None:
    """Stop beating and remove the row (a worker process shutting down)."""
    global _process
    state, _process = _process, None
    if state is None:
        return
    state.stop.set()
    if state.thread is not None:
        state.thread.join(timeout=5)
    try:
        WorkerHeartbeat.objects.filter(pk=state.worker_id).delete()
    except Exception:  # going away: the row then just ages out
        logger.warning("Could not remove the heartbeat of %s", state.name, exc_info=True)


def _run(state: _Process) -> None:
    interval = settings.TRACKER_HEARTBEAT_INTERVAL
    try:
        while True:
            try:
                beat(state)
            except Exception:  # a failed beat must not end the heartbeat; the next one retries
                logger.warning("Heartbeat of %s failed", state.name, exc_info=True)
                db_connection.close()  # this thread's connection: a fresh one next time
            if state.stop.wait(interval):
                return
    finally:
        db_connection.close()


def beat(state: _Process | None = None) -> None:
    """Write this process's heartbeat now (database clock)."""
    state = state or _process
    if state is None:
        return
    started = time.monotonic()
    with state.lock:
        previous = state.beat_started
    if previous is None or started - previous > settings.TRACKER_HEARTBEAT_TIMEOUT / 2:
        # Not beating for that long (stopped, blocked, or just started): the
        # sweeper may have released this process's claims meanwhile.
        with state.lock:
            state.broken_at = started
    with state.lock:
        busy, since = state.running > 0, state.task_event
    task_at = None if since is None else Now() - dt.timedelta(seconds=max(0.0, started - since))
    updated = WorkerHeartbeat.objects.filter(pk=state.worker_id).update(beat_at=Now(), busy=busy, task_at=task_at)
    if not updated:
        WorkerHeartbeat.objects.create(id=state.worker_id, name=state.name, beat_at=Now(), busy=busy, task_at=task_at)
    with state.lock:
        state.beat_started = max(started, state.beat_started or started)
        state.written = True


def current_worker_id() -> uuid.UUID | None:
    """The id this process's claims carry: None outside a worker, and before
    its heartbeat row exists (a claim must never name a worker the sweeper
    cannot see alive)."""
    state = _process
    return state.worker_id if state is not None and state.written else None


def claims_asserted() -> None:
    """A claim or a renewal of claims is about to be written by this thread."""
    _asserted.at = time.monotonic()


def claims_may_have_lapsed() -> bool:
    """Whether this process's claims may have been released since this
    thread last asserted them: its heartbeat stopped for a while (broke
    continuity) since then, or its last beat is older than half the timeout.
    Outside a worker, False (the renewal interval alone applies)."""
    state = _process
    if state is None or not state.written:
        return False
    asserted = getattr(_asserted, "at", None)
    now = time.monotonic()
    with state.lock:
        beat_started, broken_at = state.beat_started, state.broken_at
    return (
        asserted is None
        or broken_at >= asserted
        or beat_started is None
        or now - beat_started > settings.TRACKER_HEARTBEAT_TIMEOUT / 2
    )


def task_started() -> None:
    state = _process
    if state is not None:
        with state.lock:
            state.running += 1
            state.task_event = time.monotonic()


def task_finished() -> None:
    state = _process
    if state is not None:
        with state.lock:
            state.running = max(0, state.running - 1)
            state.task_event = time.monotonic()


def live_worker_ids():
    """A subquery: the workers whose heartbeat is recent (database clock)."""
    cutoff = Now() - dt.timedelta(seconds=settings.TRACKER_HEARTBEAT_TIMEOUT)
    return WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).values("pk")


def workers_busy(*, within: float) -> bool:
    """Whether a live worker is running a task, or ran one in the last
    `within` seconds (the sweeper's own tasks are not counted)."""
    from django.db.models import Q

    cutoff = Now() - dt.timedelta(seconds=settings.TRACKER_HEARTBEAT_TIMEOUT)
    recent = Now() - dt.timedelta(seconds=within)
    return WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).filter(Q(busy=True) | Q(task_at__gte=recent)).exists()


def heartbeats_forget(*, older_than: dt.timedelta) -> int:
    """Delete the rows of workers gone for longer than `older_than` (their
    claims were released long before)."""
    deleted, _ = WorkerHeartbeat.objects.filter(beat_at__lt=Now() - older_than).delete()
    return deleted
