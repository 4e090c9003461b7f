"""The processes a benchmark phase runs: gunicorn, Celery workers, a command;
plus a sampler of every process's peak memory and CPU time.

Each process is started in its own session so that stopping it stops its
children too (gunicorn's and Celery's workers), and only what we started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


@dataclass
class Managed:
    """A process we started (with its own process group) and its log file."""

    name: str
    proc: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # A worker's pool children may outlive the parent by a moment.
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Managed:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    handle = log.open("ab")
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return Managed(name=name, proc=proc, log=log)


def gunicorn_start(*, env: dict[str, str], port: int, workers: int, log_dir: Path) -> Managed:
    args = [
        PY,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]
    server = spawn("gunicorn", args, env=env, log_dir=log_dir)
    wait_for_port(port, timeout=60, proc=server.proc)
    return server


def worker_start(*, env: dict[str, str], name: str, log_dir: Path, concurrency: int = 1) -> Managed:
    """One Celery worker process (as on its own host): a main process and
    `concurrency` prefork children."""
    args = [
        PY,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "warning",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    return spawn(name, args, env=env, log_dir=log_dir)


def workers_wait_ready(names: list[str], *, timeout: float = 60.0) -> None:
    """Until every named worker answers a ping through the broker."""
    from config.celery import app

    deadline = time.monotonic() + timeout
    wanted = set(names)
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        seen = {name.split("@", 1)[0] for reply in replies for name in reply}
        if wanted <= seen:
            return
        time.sleep(0.2)
    raise RuntimeError(f"Celery workers {sorted(wanted)} did not answer a ping within {timeout:.0f}s")


@dataclass
class ProcessPeak:
    role: str
    pid: int
    peak_rss_mb: float = 0.0
    cpu_first: float | None = None  # CPU time at the first sample: the report gives the phase's share
    cpu_last: float = 0.0


@dataclass
class Sampler:
    """Samples the RSS and CPU time of the given processes and all their
    descendants every `interval` seconds, keeping each process's peak."""

    roots: dict[str, int]
    interval: float = 0.1
    peaks: dict[int, ProcessPeak] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._started = False
        self._sample()
        self._started = True
        self._began = time.monotonic()
        self._machine = machine_cpu()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()
        self.seconds = time.monotonic() - self._began
        busy, total, postgres = machine_cpu_delta(self._machine, machine_cpu())
        # How much of the whole machine was in use, and by PostgreSQL: on
        # 2 shared cores, a figure that stops scaling is often just this.
        self.machine = {
            "cpu_busy_share": round(busy / total, 2) if total else None,
            "postgres_cpu_s": round(postgres, 2),
            "postgres_cpu_share": round(postgres / self.seconds, 2) if self.seconds else None,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        for role, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                members = [(role, root)] + [(f"{role} child", child) for child in root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for name, proc in members:
                try:
                    with proc.oneshot():
                        rss = proc.memory_info().rss / 2**20
                        times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                peak = self.peaks.setdefault(proc.pid, ProcessPeak(role=name, pid=proc.pid))
                peak.peak_rss_mb = max(peak.peak_rss_mb, rss)
                cpu = times.user + times.system
                if peak.cpu_first is None:
                    # A process seen at the start has its CPU so far subtracted;
                    # one born during the phase spent all its CPU in it.
                    peak.cpu_first = 0.0 if self._started else cpu
                peak.cpu_last = max(peak.cpu_last, cpu)

    def report(self) -> list[dict]:
        """Each process's peak RSS, and its CPU time during the phase (also as
        a share of one core: well under 1.0 means it mostly waited)."""
        seconds = getattr(self, "seconds", 0.0)
        rows = []
        for p in sorted(self.peaks.values(), key=lambda p: (p.role, p.pid)):
            cpu = p.cpu_last - (p.cpu_first or 0.0)
            rows.append(
                {
                    "role": p.role,
                    "pid": p.pid,
                    "peak_rss_mb": round(p.peak_rss_mb, 1),
                    "cpu_s": round(cpu, 2),
                    "cpu_share": round(cpu / seconds, 2) if seconds else None,
                }
            )
        return rows

    def max_rss_mb(self, *, exclude: tuple[str, ...] = ()) -> float:
        """The highest peak among processes whose role does not start with any of `exclude`."""
        return max((p.peak_rss_mb for p in self.peaks.values() if not p.role.startswith(exclude)), default=0.0)


def machine_cpu() -> tuple[float, float, dict[int, float]]:
    """(busy CPU seconds of the machine, all CPU seconds, {pid: CPU seconds} of
    PostgreSQL's processes). PostgreSQL is the whole server, other databases'
    backends included: on a shared machine that is part of the story."""
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    postgres: dict[int, float] = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
            postgres[proc.pid] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total - idle, total, postgres


def machine_cpu_delta(
    before: tuple[float, float, dict[int, float]], after: tuple[float, float, dict[int, float]]
) -> tuple[float, float, float]:
    """(busy, total, PostgreSQL) CPU seconds between two readings. Backends
    that exited in between are lost (no reading), never counted negative."""
    postgres = sum(cpu - before[2].get(pid, 0.0) for pid, cpu in after[2].items())
    return after[0] - before[0], after[1] - before[1], postgres


def cpu_seconds(pids: list[int]) -> float:
    """Total CPU time so far of these processes and their descendants."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


class Analyzer:
    """ANALYZE the delivery tables every `interval` seconds while a phase runs,
    when the PostgreSQL server has autovacuum off (as some test servers do).

    Delivery rows are inserted by the thousand within a phase; with autovacuum
    on, PostgreSQL would refresh their statistics within a minute or so. With
    it off they stay those of an empty table, and plans chosen from them (a
    partial index scanned whole instead of the primary key) would measure the
    server's configuration rather than the tracker."""

    TABLES = ("tracker_notification", "tracker_digestdelivery", "tracker_changefanout")

    def __init__(self, url: str, interval: float = 30.0) -> None:
        self.url = url
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def needed(url: str) -> bool:
        if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
            return False
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW autovacuum").fetchone()
            assert row is not None  # SHOW always answers one row
            return row[0] == "off"

    def analyze(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("ANALYZE " + ", ".join(self.TABLES))
        self.runs += 1

    def __enter__(self) -> Analyzer:
        self.analyze()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.analyze()
            except Exception:  # noqa: BLE001 - statistics are a courtesy; never break the phase for them
                pass
