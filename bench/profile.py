"""Profile what the benchmark measures, with py-spy, on a kept bench database.

    python -m bench.run --keep-db          # once, to build and keep the dataset
    python -m bench.profile http  [--path /api/v1/status/] [--seconds 20] [--not-modified]
    python -m bench.profile mail  [--seconds 60]
    python -m bench.profile digest [--delay 60] [--seconds 40]

`http` samples both gunicorn workers while wrk loads one path; `mail`
samples a Celery worker while it delivers one change to the mail
subscribers; `digest` samples `send_digests daily`. Each writes py-spy's
collapsed stacks to var/bench/profile-<what>.txt and prints the functions
with the largest inclusive and self shares of the samples (idle time, such as
waiting for PostgreSQL or the SMTP server, included: it is time too).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import environment
from bench.environment import VAR
from bench.scale import FULL, MEDIUM, QUICK, Scale

OUT = VAR / "bench"
_LINE = re.compile(r":\d+\)$")
_PROJECT = re.compile(r"\((regulatory|tracker|config|bench)/")


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).exists():
        raise SystemExit("py-spy is not installed: `.venv/bin/pip install py-spy==0.4.3`")
    return path


def record(pids: list[int], seconds: int, out: Path, *, subprocesses: bool = False) -> list[subprocess.Popen]:
    procs = []
    for n, pid in enumerate(pids):
        args = [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            f"{out}.{n}",
            "--nonblocking",
        ]
        if os.environ.get("BENCH_PROFILE_CPU_ONLY") != "1":  # idle time (waiting on the database, SMTP) counts too
            args.append("--idle")
        if subprocesses:
            args.append("--subprocesses")
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def summarise(paths: list[Path], out: Path, top: int = 25) -> str:
    stacks: collections.Counter[str] = collections.Counter()
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, field = line.rpartition(" ")
            if field.isdigit():
                stacks[stack] += int(field)
        path.unlink()
    out.write_text("".join(f"{stack} {count}\n" for stack, count in stacks.most_common()))
    total = sum(stacks.values()) or 1
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for stack, count in stacks.items():
        # One entry per function, whatever line of it each sample was on.
        frames = [_LINE.sub(")", f) for f in stack.split(";") if f]
        for frame in set(frames):
            if _PROJECT.search(frame):
                inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [
        f"{total} samples; collapsed stacks in {out}",
        "",
        "inclusive, the project's own functions (time in the function and below):",
    ]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in inclusive.most_common(top)]
    lines += ["", "self, any function (time in the function itself; Connection.wait = waiting for PostgreSQL):"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


def _scale(quick: bool | str) -> Scale:
    return {True: QUICK, "medium": MEDIUM}.get(quick, FULL)


def setup(quick: bool | str) -> dict[str, str]:
    db = environment.bench_database(os.environ.get("DATABASE_URL", ""), quick=bool(quick))
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "BENCH": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    return env


def profile_http(env: dict[str, str], path: str, seconds: int, headers: list[str], not_modified: bool) -> str:
    from bench import load
    from bench.procs import free_port, gunicorn_start

    port = free_port()
    server = gunicorn_start(env=env, port=port, workers=2, log_dir=OUT)
    try:
        url = f"http://127.0.0.1:{port}{path}"
        header_map = dict(h.split(": ", 1) for h in headers)
        _status, response_headers, _body, _seconds = load.fetch(url, header_map)
        if not_modified:
            header_map["If-None-Match"] = response_headers["etag"]
        load.run_load(url, seconds=3, connections=4, headers=header_map)
        import psutil

        pids = [child.pid for child in psutil.Process(server.pid).children()]
        out = OUT / "profile-http.txt"
        spies = record(pids, seconds, out)
        result = load.run_load(url, seconds=seconds, connections=4, headers=header_map)
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        text = summarise([Path(f"{out}.{n}") for n in range(len(pids))], out)
        return f"{path}: {result.rps:.1f} req/s under py-spy (sampling slows it)\n\n{text}"
    finally:
        server.stop()


def profile_mail(env: dict[str, str], seconds: int, quick: bool | str) -> str:
    from bench import dataset
    from bench.procs import free_port, worker_start, workers_wait_ready
    from bench.smtp_sink import SmtpSink
    from regulatory.services import decision_publish

    plan = dataset.plan_for(_scale(quick))
    port = free_port()
    env = {**env, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    os.environ.update(env)
    sink = SmtpSink("127.0.0.1", port)
    sink.start()
    worker = worker_start(env=env, name="profile1", log_dir=OUT)
    try:
        workers_wait_ready(["profile1"])
        import psutil

        child = psutil.Process(worker.pid).children()[0].pid
        out = OUT / "profile-mail.txt"
        spies = record([child], seconds, out)
        time.sleep(1)
        sink.reset()
        started = time.time()
        decision_publish(decision=dataset.draft_create(plan, role="mail", n=int(started)))
        stats = sink.wait_for(plan.scale.mail_subscribers, timeout=seconds)
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        text = summarise([Path(f"{out}.0")], out)
        rate = stats.received / max(1e-9, stats.last_at - started)
        return f"{stats.received} emails, {rate:.0f}/s under py-spy\n\n{text}"
    finally:
        worker.stop()
        sink.stop()


def profile_digest(env: dict[str, str], seconds: int, quick: bool | str, delay: int) -> str:
    from django.db.models import Max

    from bench import dataset
    from bench.procs import PY, free_port, spawn
    from bench.smtp_sink import SmtpSink
    from regulatory.models import Change
    from regulatory.services import decision_publish
    from tracker.models import Subscriber

    plan = dataset.plan_for(_scale(quick))
    port = free_port()
    env = {**env, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    sink = SmtpSink("127.0.0.1", port)
    sink.start()
    try:
        Subscriber.objects.update(daily_watermark=Change.objects.aggregate(top=Max("id"))["top"])
        decision_publish(decision=dataset.draft_create(plan, role="digest", n=int(time.time())))
        out = OUT / "profile-digest.txt"
        command = spawn("profile-digest", [PY, "manage.py", "send_digests", "daily"], env=env, log_dir=OUT)
        time.sleep(delay)  # e.g. past the planning, to sample the sending
        spies = record([command.pid], seconds, out)
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        command.stop()
        text = summarise([Path(f"{out}.0")], out)
        return f"{sink.stats().received} digests in the {seconds}s sampled\n\n{text}"
    finally:
        sink.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("what", choices=["http", "mail", "digest"])
    parser.add_argument("--quick", action="store_true", help="profile the kept quick database")
    parser.add_argument("--medium", action="store_true", help="profile the kept medium database")
    parser.add_argument("--path", default="/api/v1/status/")
    parser.add_argument("--header", action="append", default=["Accept: application/json"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--delay", type=int, default=0, help="digest: seconds to wait before sampling")
    parser.add_argument("--not-modified", action="store_true", help="http: send the ETag back (the 304 path)")
    args = parser.parse_args()
    if args.medium:
        args.quick = "medium"
    env = setup(args.quick)
    if args.what == "http":
        print(profile_http(env, args.path, args.seconds, args.header, args.not_modified))
    elif args.what == "mail":
        print(profile_mail(env, args.seconds, args.quick))
    else:
        print(profile_digest(env, args.seconds, args.quick, args.delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())
