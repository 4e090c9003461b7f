"""Load generation: `wrk` (Debian's package) when installed, else a Python fallback.

Both report the same figures: requests/s, p50 and p99 latency, error counts,
and the CPU the client itself used, so the report can show that the client
was not the bottleneck (server and client share the machine's cores).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass

# wrk's summary, printed by its done() hook as one JSON line.
_WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, "non_2xx_3xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    generator: str
    url: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    bad_status: int
    bytes_per_response: float
    client_cpu_s: float

    def as_dict(self) -> dict:
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()}


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return ""
    out = subprocess.run([path, "--version"], capture_output=True, text=True)
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0].split(" [")[0].strip() if text else "wrk"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str]) -> LoadResult:
    path = wrk_path()
    if path is None:
        raise RuntimeError("wrk is not installed")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    args = [path, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", script.name]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    cpu_before = _children_cpu()
    try:
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    line = next((row for row in out.stdout.splitlines() if row.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line[len("WRKJSON ") :])
    duration = data["duration_us"] / 1e6
    requests = data["requests"]
    return LoadResult(
        generator="wrk",
        url=url,
        connections=connections,
        seconds=duration,
        requests=requests,
        rps=requests / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
        bad_status=data["non_2xx_3xx"],
        bytes_per_response=data["bytes"] / requests if requests else 0.0,
        client_cpu_s=_children_cpu() - cpu_before,
    )


# --- The Python fallback --------------------------------------------------------


async def _one_request(host: str, port: int, request: bytes) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length) if length else await reader.read()
        return status, len(head) + len(body)
    finally:
        writer.close()


async def _python_load(host: str, port: int, request: bytes, seconds: float, connections: int):
    latencies: list[float] = []
    errors = bad = total_bytes = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors, bad, total_bytes
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, size = await _one_request(host, port, request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            total_bytes += size
            if status >= 400:
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return latencies, errors, bad, total_bytes, time.perf_counter() - started


def run_python(url: str, *, seconds: int, connections: int, headers: dict[str, str]) -> LoadResult:
    """A connection-per-request asyncio client (gunicorn's sync workers close
    every connection anyway). It is slower than wrk, so its CPU time is
    reported: when it nears one core, the client is the bottleneck."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"the load generator needs a host and a port in {url!r}")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"GET {target} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode()
    cpu = time.process_time()
    latencies, errors, bad, total_bytes, duration = asyncio.run(
        _python_load(parts.hostname, parts.port, request, seconds, connections)
    )
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return LoadResult(
        generator="python",
        url=url,
        connections=connections,
        seconds=duration,
        requests=len(latencies),
        rps=len(latencies) / duration if duration else 0.0,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        errors=errors,
        bad_status=bad,
        bytes_per_response=total_bytes / len(latencies) if latencies else 0.0,
        client_cpu_s=time.process_time() - cpu,
    )


def run_load(
    url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None, prefer_wrk: bool = True
) -> LoadResult:
    headers = headers or {}
    if prefer_wrk and wrk_path():
        return run_wrk(url, seconds=seconds, connections=connections, headers=headers)
    return run_python(url, seconds=seconds, connections=connections, headers=headers)


def fetch(
    url: str, headers: dict[str, str] | None = None, timeout: float = 120.0
) -> tuple[int, dict[str, str], bytes, float]:
    """One request with the standard library: status, headers, body, seconds."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url!r}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, elapsed
    finally:
        conn.close()


def install_hint() -> str:
    return (
        "wrk is not installed: using the Python load generator (slower; its CPU use is reported). "
        "For the reference figures install wrk: `sudo apt-get install -y wrk` (Debian/Ubuntu)."
    )
