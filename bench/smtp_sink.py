"""A fast SMTP sink in its own process that counts what it receives.

Why not aiosmtpd: its per-command machinery costs more CPU per message than
the senders we measure, so on a 2-core machine the sink, not the tracker,
would set the rate. This is the smallest server smtplib and Django's SMTP
backend are happy with (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), on a
plain asyncio protocol, and it keeps nothing but counters. Like Postfix, it
offers PIPELINING (RFC 2920): it answers commands in order however many
arrive in one read. smtplib, the baseline, never pipelines; the tracker does
when offered (tracker/smtp.py).

- `received`: messages accepted since the last reset;
- `duplicates`: messages whose Message-ID, or whose recipient, was already
  seen since the last reset (each bench phase sends one message per
  recipient, so a second message to one address is a duplicate even if the
  sender gave it a fresh Message-ID);
- `first_at` / `last_at`: wall-clock (time.time()) arrival of the first and
  the latest message, so the parent can time a phase from the sink's side.

The parent reads the counters from shared memory while the sink runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.+?)\r?$", re.IGNORECASE | re.MULTILINE)
_ANGLE_ADDR = re.compile(rb"<([^>]*)>")


@dataclass(frozen=True)
class SinkStats:
    received: int
    duplicates: int
    bytes: int
    first_at: float
    last_at: float


class _Shared:
    """Counters in shared memory; written by the sink, read by the parent."""

    def __init__(self, ctx) -> None:
        self.received = ctx.Value("q", 0, lock=False)
        self.duplicates = ctx.Value("q", 0, lock=False)
        self.bytes = ctx.Value("q", 0, lock=False)
        self.first_at = ctx.Value("d", 0.0, lock=False)
        self.last_at = ctx.Value("d", 0.0, lock=False)
        # Bumped by the parent to ask the sink to forget what it has seen.
        self.generation = ctx.Value("q", 0, lock=False)
        self.ready = ctx.Event()


class _State:
    def __init__(self, shared: _Shared, sample_dir: Path | None) -> None:
        self.shared = shared
        self.sample_dir = sample_dir
        self.generation = shared.generation.value
        self.message_ids: set[bytes] = set()
        self.recipients: set[bytes] = set()

    def accept(self, recipients: list[bytes], data: bytes) -> None:
        shared = self.shared
        if shared.generation.value != self.generation:
            self.generation = shared.generation.value
            self.message_ids.clear()
            self.recipients.clear()
        now = time.time()
        if shared.received.value == 0:
            shared.first_at.value = now
            if self.sample_dir is not None:
                # The first message of every phase, so the parent can replay
                # a real tracker email in the smtplib baseline.
                (self.sample_dir / f"sample-{self.generation}.eml").write_bytes(data)
        duplicate = False
        match = _MESSAGE_ID.search(data, 0, data.find(b"\r\n\r\n") if b"\r\n\r\n" in data else len(data))
        if match:
            message_id = match.group(1).strip()
            duplicate = message_id in self.message_ids
            self.message_ids.add(message_id)
        for rcpt in recipients:
            key = rcpt.lower()
            duplicate = duplicate or key in self.recipients
            self.recipients.add(key)
        if duplicate:
            shared.duplicates.value += 1
        shared.bytes.value += len(data)
        shared.last_at.value = now
        # Last, so that a reader who sees the count also sees the times.
        shared.received.value += 1


class _SmtpProtocol(asyncio.Protocol):
    def __init__(self, state: _State) -> None:
        self.state = state
        self.buffer = bytearray()
        self.in_data = False
        self.recipients: list[bytes] = []
        # Set by connection_made, which asyncio calls before any data_received.
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP server (loop.create_server) always hands over a full Transport.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    # The terminator may be the very first line of the body.
                    if self.buffer.startswith(b".\r\n"):
                        end = -2
                    else:
                        return
                body = bytes(self.buffer[: max(end, 0)])
                del self.buffer[: end + 5]
                self.in_data = False
                # Dot-stuffing is left in place: only the headers are parsed.
                self.state.accept(self.recipients, body)
                self.recipients = []
                self.transport.write(b"250 OK queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self.command(line)

    def command(self, line: bytes) -> None:
        verb = line[:4].upper()
        write = self.transport.write
        if verb == b"EHLO":
            write(b"250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
        elif verb == b"HELO":
            write(b"250 bench-sink\r\n")
        elif verb == b"MAIL":
            self.recipients = []
            write(b"250 OK\r\n")
        elif verb == b"RCPT":
            match = _ANGLE_ADDR.search(line)
            self.recipients.append(match.group(1) if match else line[8:].strip())
            write(b"250 OK\r\n")
        elif verb == b"DATA":
            self.in_data = True
            write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"RSET":
            self.recipients = []
            write(b"250 OK\r\n")
        elif verb == b"NOOP":
            write(b"250 OK\r\n")
        elif verb == b"QUIT":
            write(b"221 Bye\r\n")
            self.transport.close()
        else:
            write(b"502 Command not implemented\r\n")


def _serve(host: str, port: int, shared: _Shared, sample_dir: str | None) -> None:
    state = _State(shared, Path(sample_dir) if sample_dir else None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SmtpProtocol(state), host, port, backlog=512)
        shared.ready.set()
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


class SmtpSink:
    """Start with `start()`, read `stats()`, `reset()` between phases, `stop()`."""

    def __init__(self, host: str, port: int, sample_dir: Path | None = None) -> None:
        # spawn, not fork: the parent has Django, database connections and
        # threads that a forked child must not share.
        ctx = mp.get_context("spawn")
        self.host, self.port = host, port
        self.sample_dir = sample_dir
        self._shared = _Shared(ctx)
        self._process = ctx.Process(
            target=_serve,
            args=(host, port, self._shared, str(sample_dir) if sample_dir else None),
            name="bench-smtp-sink",
            daemon=True,
        )

    @property
    def pid(self) -> int:
        pid = self._process.pid
        if pid is None:
            raise RuntimeError("the SMTP sink has not been started")
        return pid

    def start(self, timeout: float = 20.0) -> None:
        if self.sample_dir is not None:
            self.sample_dir.mkdir(parents=True, exist_ok=True)
        self._process.start()
        if not self._shared.ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"the SMTP sink did not start on {self.host}:{self.port}")

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()

    def reset(self) -> int:
        """Forget everything seen; the next message starts a new phase."""
        shared = self._shared
        shared.received.value = 0
        shared.duplicates.value = 0
        shared.bytes.value = 0
        shared.first_at.value = 0.0
        shared.last_at.value = 0.0
        shared.generation.value += 1
        return shared.generation.value

    def stats(self) -> SinkStats:
        shared = self._shared
        received = shared.received.value
        return SinkStats(
            received=received,
            duplicates=shared.duplicates.value,
            bytes=shared.bytes.value,
            first_at=shared.first_at.value,
            last_at=shared.last_at.value,
        )

    def sample(self, generation: int) -> bytes | None:
        if self.sample_dir is None:
            return None
        path = self.sample_dir / f"sample-{generation}.eml"
        return path.read_bytes() if path.exists() else None

    def wait_for(
        self, count: int, *, timeout: float, idle_timeout: float | None = None, poll: float = 0.01
    ) -> SinkStats:
        """Wait until `count` messages have arrived, `timeout` has passed, or
        (with `idle_timeout`) nothing has arrived for that long."""
        deadline = time.monotonic() + timeout
        last_seen, last_change = -1, time.monotonic()
        while True:
            stats = self.stats()
            if stats.received >= count:
                return stats
            now = time.monotonic()
            if stats.received != last_seen:
                last_seen, last_change = stats.received, now
            if now >= deadline or (idle_timeout is not None and now - last_change >= idle_timeout):
                return stats
            time.sleep(poll)
