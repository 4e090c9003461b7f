"""Phases 3–5: mail delivery against the SMTP sink, with real Celery workers
on the real broker and database.

- warm-up: one publish to the latency subscriber; its email (a real tracker
  email) becomes the pre-rendered message of the smtplib baseline;
- publish-to-inbox latency: N publishes, one at a time, on the idle system;
- baseline: a bare smtplib loop, one connection, the same number of copies
  of that message (each with its own recipient and Message-ID), run before
  and after the tracker's runs; the figure is the mean of the two;
- tracker: the time from publishing one change that matches every mail
  subscriber until the sink holds all of their emails, with one worker
  process, then with two (as on two hosts), checking for duplicates in the
  sink and in the database;
- digest: a daily digest to every subscriber, timing it and sampling every
  process's memory.
"""

from __future__ import annotations

import re
import smtplib
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench import dataset
from bench.procs import PY, Sampler, spawn, worker_start, workers_wait_ready
from bench.smtp_sink import SmtpSink

if TYPE_CHECKING:
    from bench.run import Bench

_TO = re.compile(rb"^To:[^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*\r\n", re.IGNORECASE | re.MULTILINE)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def messages_from_sample(sample: bytes, count: int) -> list[tuple[str, bytes]]:
    """`count` copies of a real email, each to its own address with its own Message-ID."""
    head, sep, body = sample.partition(b"\r\n\r\n")
    head += b"\r\n"
    out = []
    for i in range(count):
        to = f"baseline{i:06d}@bench.example"
        h = _TO.sub(f"To: {to}\r\n".encode(), head, count=1)
        h = _MESSAGE_ID.sub(f"Message-ID: <baseline.{i}.{time.time_ns()}@bench.example>\r\n".encode(), h, count=1)
        out.append((to, h[:-2] + sep + body))
    return out


def smtplib_send(host: str, port: int, messages: list[tuple[str, bytes]], sender: str) -> float:
    """Send every message over one connection; return the seconds it took."""
    started = time.perf_counter()
    connection = smtplib.SMTP(host, port)
    try:
        for to, message in messages:
            connection.sendmail(sender, [to], message)
    finally:
        connection.quit()
    return time.perf_counter() - started


class _Delivery:
    """What the mail and digest phases share: the sink and the workers."""

    def __init__(self, bench: Bench, *, say: Callable[[str], None]) -> None:
        self.bench = bench
        self.say = say
        self.plan = bench.plan
        self.scale = bench.scale
        self.figures = bench.figures

    def sink(self) -> SmtpSink:
        if self.bench.sink is None:
            from bench.run import LOG_DIR

            self.bench.sink = SmtpSink("127.0.0.1", self.bench.sink_port, sample_dir=LOG_DIR / "mail-samples")
            self.bench.sink.start()
            self.say(f"SMTP sink on 127.0.0.1:{self.bench.sink_port} (pid {self.bench.sink.pid})")
        return self.bench.sink

    def workers(self, count: int) -> list:
        """Exactly `count` worker processes running and answering."""
        from bench.run import LOG_DIR

        while len(self.bench.workers) > count:
            self.bench.workers.pop().stop()
        while len(self.bench.workers) < count:
            name = f"bench{len(self.bench.workers) + 1}"
            self.bench.workers.append(worker_start(env=self.bench.env, name=name, log_dir=LOG_DIR))
        try:
            workers_wait_ready([w.name for w in self.bench.workers], timeout=90)
        except RuntimeError:
            for w in self.bench.workers:
                self.say(f"{w.name} log:\n{w.tail()}")
            raise
        return self.bench.workers

    def publish(self, role: str, n: int) -> tuple[int, float]:
        """Create a draft for `role` and publish it; (change id, wall time just before publishing)."""
        from regulatory.services import decision_publish

        if self.plan is None:
            raise RuntimeError("the dataset phase has not run: there is no plan to publish from")
        draft = dataset.draft_create(self.plan, role=role, n=n)
        started = time.time()
        change = decision_publish(decision=draft)
        return change.pk, started

    def wait_quiet(self, seconds: float = 1.0, timeout: float = 60.0) -> None:
        """Until the sink has received nothing for `seconds` (leftovers of a phase)."""
        sink = self.sink()
        deadline = time.monotonic() + timeout
        last = sink.stats().received
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = sink.stats().received
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= seconds:
                return

    def fan_outs_finished(self, change_ids: list[int], timeout: float) -> bool:
        from tracker.models import ChangeFanOut

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ChangeFanOut.objects.filter(change_id__in=change_ids, completed_at__isnull=False).count() == len(
                change_ids
            ):
                return True
            time.sleep(0.2)
        return False


class MailBench(_Delivery):
    def run(self) -> None:
        sink = self.sink()
        self.workers(1)
        details: dict[str, Any] = {}
        self.bench.details["mail"] = details

        # Warm-up: one real email, which the baseline then replays.
        generation = sink.reset()
        self.publish("latency", 0)
        stats = sink.wait_for(1, timeout=120)
        if stats.received < 1:
            raise RuntimeError(
                f"the warm-up publish produced no email within 120s; worker log:\n{self.bench.workers[0].tail()}"
            )
        sample = sink.sample(generation)
        if sample is None:
            raise RuntimeError(f"the warm-up email was received but the sink kept no sample of it in {sink.sample_dir}")
        details["message_bytes"] = len(sample)
        self.say(f"warm-up email received ({len(sample):,} bytes)")
        self.wait_quiet(0.5)

        self.latency()
        # The baseline before and after the tracker's runs, their mean the
        # figure: on this machine one smtplib run can differ from the next by
        # a third (core wake-ups), and bracketing spreads that drift over both.
        first = self.baseline(sample)
        rates = {workers: self.tracker_run(workers=workers) for workers in (1, 2)}
        second = self.baseline(sample)
        baseline = (first + second) / 2
        self.figures["mail_rate_baseline"] = round(baseline, 1)
        self.figures["mail_rate_tracker"] = round(rates[1], 1)
        self.figures["mail_ratio"] = round(rates[1] / baseline, 3)
        self.figures["mail_rate_tracker_two_workers"] = round(rates[2], 1)
        self.figures["mail_ratio_two_workers"] = round(rates[2] / baseline, 3)
        self.say(
            f"smtplib baseline {first:,.0f} then {second:,.0f} emails/s, mean {baseline:,.0f}: "
            f"ratio {rates[1] / baseline:.2f} with 1 worker, {rates[2] / baseline:.2f} with 2"
        )
        runs = details["runs"]
        self.figures["mail_duplicates"] = sum(run["duplicates"] for run in runs)

    def latency(self) -> None:
        sink = self.sink()
        self.workers(1)
        latencies = []
        for i in range(1, self.scale.latency_publishes + 1):
            time.sleep(0.3)  # idle between publishes
            sink.reset()
            _change_id, started = self.publish("latency", i)
            stats = sink.wait_for(1, timeout=60)
            if stats.received < 1:
                raise RuntimeError(f"publish {i} reached no inbox within 60s")
            latencies.append(stats.first_at - started)
        self.wait_quiet(0.5)
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        self.figures["publish_to_inbox_p50_s"] = round(p50, 3)
        self.figures["publish_to_inbox_p99_s"] = round(p99, 3)
        self.bench.details["latency"] = {
            "publishes": len(latencies),
            "workers": 1,
            "p50_s": round(p50, 3),
            "p99_s": round(p99, 3),
            "mean_s": round(statistics.mean(latencies), 3),
            "max_s": round(max(latencies), 3),
            "all_s": [round(v, 3) for v in latencies],
        }
        self.say(f"publish → inbox over {len(latencies)} publishes: p50 {p50:.3f}s, p99 {p99:.3f}s")

    def baseline(self, sample: bytes) -> float:
        """One run of the bare smtplib loop; its rate (emails/s)."""
        from django.conf import settings

        sink = self.sink()
        count = self.scale.mail_subscribers
        messages = messages_from_sample(sample, count)
        sink.reset()
        seconds = smtplib_send("127.0.0.1", self.bench.sink_port, messages, settings.DEFAULT_FROM_EMAIL)
        stats = sink.wait_for(count, timeout=30)
        if stats.received < count:
            raise RuntimeError(f"the sink received {stats.received} of {count} baseline messages")
        rate = count / seconds
        self.figures["mail_messages"] = count
        self.bench.details["mail"].setdefault("baselines", []).append(
            {
                "messages": count,
                "seconds": round(seconds, 3),
                "rate": round(rate, 1),
                "duplicates": stats.duplicates,
            }
        )
        self.say(f"smtplib baseline: {count:,} messages in {seconds:.2f}s = {rate:,.0f} emails/s")
        return rate

    def tracker_run(self, *, workers: int) -> float:
        """Publish one change to the mail subscribers; the rate (emails/s)
        from the publish until the sink holds every email."""
        from tracker.models import Notification

        sink = self.sink()
        running = self.workers(workers)
        count = self.scale.mail_subscribers
        self.wait_quiet(0.5)
        sink.reset()
        with Sampler({**{w.name: w.pid for w in running}, "smtp sink": sink.pid}) as sampler:
            change_id, started = self.publish("mail", workers)
            stats = sink.wait_for(count, timeout=self.scale.mail_timeout, idle_timeout=120)
        # Anything after the last expected email is a duplicate too.
        late = sink.wait_for(count + 1, timeout=3)
        seconds = stats.last_at - started
        rows = Notification.objects.filter(change_id=change_id)
        sent = rows.filter(sent_at__isnull=False).count()
        total_rows = rows.count()
        duplicates = late.duplicates + max(0, late.received - count)
        rate = stats.received / seconds if seconds > 0 else 0.0
        run = {
            "workers": workers,
            "change_id": change_id,
            "expected": count,
            "received": late.received,
            "seconds": round(seconds, 3),
            "rate": round(rate, 1),
            "duplicates": duplicates,
            "notification_rows": total_rows,
            "notifications_sent": sent,
            "first_email_after_s": round(stats.first_at - started, 3) if stats.first_at else None,
            "processes": sampler.report(),
            "machine": sampler.machine,
        }
        self.bench.details["mail"].setdefault("runs", []).append(run)
        if stats.received < count:
            raise RuntimeError(
                f"{workers} worker(s): the sink received {stats.received} of {count} emails "
                f"within {self.scale.mail_timeout}s"
            )
        self.say(
            f"tracker, {workers} worker(s): {count:,} emails in {seconds:.2f}s = {rate:,.0f} emails/s; "
            f"duplicates {duplicates}; rows {total_rows:,}, sent {sent:,}"
        )
        return rate


class DigestBench(_Delivery):
    """`send_digests daily` (one process; the figure the issue asks for), then
    the same digest as beat runs it (`digest_plan` on two worker processes)."""

    WORKERS = 2

    def run(self) -> None:
        from django.core.management import get_commands

        if "send_digests" in get_commands():
            self.digest_once(via="command")
        else:
            self.bench.skipped["digest (send_digests)"] = "the send_digests command does not exist yet"
        self.digest_once(via="beat")

    def prepare(self) -> tuple[int, int]:
        """Mark everything so far as mailed, publish the digest changes (their
        fan-out finds no instant subscriber, by the dataset's design), and
        return (the watermark the digests start after, the digests expected)."""
        from django.db.models import Max

        from regulatory.models import Change
        from tracker.models import Subscriber

        self.wait_quiet(1.0)
        upto = Change.objects.aggregate(top=Max("id"))["top"]
        Subscriber.objects.update(daily_watermark=upto)
        change_ids = [self.publish("digest", i)[0] for i in range(self.scale.digest_changes)]
        if not self.fan_outs_finished(change_ids, timeout=300):
            raise RuntimeError("the digest changes' fan-outs did not finish within 300s")
        self.wait_quiet(1.0)
        return upto, Subscriber.objects.active().count()

    def digest_once(self, *, via: str) -> None:
        from tracker.models import DigestDelivery

        sink = self.sink()
        running = self.workers(self.WORKERS)
        upto, expected = self.prepare()
        sink.reset()
        started = time.time()
        roots = {**{w.name: w.pid for w in running}, "smtp sink": sink.pid}
        command = None
        if via == "command":
            command = spawn(
                "send_digests", [PY, "manage.py", "send_digests", "daily"], env=self.bench.env, log_dir=self._log_dir()
            )
            self.bench.others.append(command)
            roots["send_digests"] = command.pid
        else:
            from tracker.tasks import digest_plan

            digest_plan.delay("daily")
        with Sampler(roots) as sampler:
            command_seconds = None
            if command is not None:
                try:
                    command.proc.wait(timeout=self.scale.digest_timeout)
                    command_seconds = time.time() - started
                except Exception as exc:  # whatever stopped the wait, the command must not outlive it
                    command.stop()
                    raise RuntimeError(f"send_digests did not finish within {self.scale.digest_timeout}s") from exc
                if command.proc.returncode != 0:
                    raise RuntimeError(f"send_digests exited with {command.proc.returncode}:\n{command.tail()}")
            remaining = max(1.0, self.scale.digest_timeout - (time.time() - started))
            stats = sink.wait_for(expected, timeout=remaining, idle_timeout=120)
        late = sink.wait_for(expected + 1, timeout=3)
        end = max(stats.last_at, started + (command_seconds or 0))
        seconds = end - started
        sent = DigestDelivery.objects.filter(cadence="daily", sent_at__isnull=False, after_change_id=upto).count()
        duplicates = late.duplicates + max(0, late.received - expected)
        peak = sampler.max_rss_mb(exclude=("smtp sink",))  # the tracker's processes, not the bench's
        rate = stats.received / seconds if seconds else 0.0
        self.bench.details["digest" if via == "command" else "digest_beat"] = {
            "via": (
                "python manage.py send_digests daily (one process)"
                if via == "command"
                else f"tracker.tasks.digest_plan, as beat queues it, on {len(running)} worker processes"
            ),
            "workers_running": len(running),
            "expected": expected,
            "received": late.received,
            "sent_rows": sent,
            "duplicates": duplicates,
            "seconds": round(seconds, 2),
            "command_seconds": round(command_seconds, 2) if command_seconds else None,
            "rate": round(rate, 1),
            "digest_changes": self.scale.digest_changes,
            "processes": sampler.report(),
            "machine": sampler.machine,
        }
        if via == "command":
            self.figures["digest_subscribers"] = stats.received
            self.figures["digest_100k_seconds"] = round(seconds, 2)
            self.figures["digest_rate"] = round(rate, 1)
            self.figures["digest_peak_rss_mb"] = round(peak, 1)
            self.figures["digest_duplicates"] = duplicates
        else:
            self.figures["digest_beat_two_workers_seconds"] = round(seconds, 2)
            self.figures["digest_beat_two_workers_rate"] = round(rate, 1)
            self.figures["digest_beat_two_workers_peak_rss_mb"] = round(peak, 1)
            self.figures["digest_beat_two_workers_duplicates"] = duplicates
        self.say(
            f"daily digest via {via}: {stats.received:,} of {expected:,} in {seconds:.1f}s = {rate:,.0f} "
            f"emails/s; peak RSS {peak:.0f} MB; duplicates {duplicates}"
        )
        if stats.received < expected:
            raise RuntimeError(f"the sink received {stats.received} of {expected} digests (via {via})")

    @staticmethod
    def _log_dir():
        from bench.run import LOG_DIR

        return LOG_DIR
