"""Phase 2: each endpoint against a bare JsonResponse of the same size.

gunicorn with 2 sync workers (DEBUG off) serves the bench database on
loopback; wrk (1 thread, a few connections) loads it from its own process.
Both share the machine's cores, so the client's and the server's CPU time
are recorded for every run: the ratio is only meaningful while the client
uses a small share of one core.

For each endpoint: check one response (status, size), then alternate
baseline and endpoint runs of the same length after a warm-up, and report
requests/s, p50 and p99 of each and the ratio endpoint / baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load
from bench.dataset import Plan
from bench.procs import cpu_seconds, free_port, gunicorn_start, machine_cpu, machine_cpu_delta

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict[str, str]
    expect_status: int
    ratio_key: str


def _chosen_codes(plan: Plan) -> tuple[str, str]:
    """The jurisdiction with the most decisions, and its most frequent therapy."""
    from django.db.models import Count

    from regulatory.models import Decision

    top = (
        Decision.objects.filter(jurisdiction__code__in=plan.plain_jurisdictions)
        .values("jurisdiction__code")
        .annotate(n=Count("id"))
        .order_by("-n", "jurisdiction__code")
        .first()
    )
    code = top["jurisdiction__code"] if top else plan.plain_jurisdictions[0]
    through = Decision.therapies.through
    therapy = (
        through.objects.filter(decision__jurisdiction__code=code)
        .values("therapy__slug")
        .annotate(n=Count("id"))
        .order_by("-n", "therapy__slug")
        .first()
    )
    return code, therapy["therapy__slug"] if therapy else plan.plain_therapies[0]


def http_benchmark(
    *, plan: Plan, env: dict[str, str], use_wrk: bool, log_dir: Path, say: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    scale = plan.scale
    code, therapy = _chosen_codes(plan)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {
        "server": "gunicorn, 2 sync workers, DEBUG off",
        "connections": scale.http_connections,
        "seconds_per_run": scale.http_duration,
        "jurisdiction": code,
        "therapy": therapy,
    }
    details["response_cache_cleared"] = _response_cache_clear()
    server = gunicorn_start(env=env, port=port, workers=2, log_dir=log_dir)
    try:
        # The very first request: imports, URL resolution, connection set-up
        # and cold database caches, on whichever worker accepts it.
        status, headers, body, seconds = load.fetch(f"{base}/api/v1/status/", JSON)
        if status != 200:
            raise RuntimeError(f"/api/v1/status/ answered {status}: {body[:300]!r}\n{server.tail()}")
        figures["status_first_request_s"] = round(seconds, 3)
        etag = headers.get("etag")
        say(f"first /api/v1/status/ request: {seconds:.2f}s, {len(body):,} bytes, ETag {etag}")
        endpoints = [
            Endpoint("status", "/api/v1/status/", JSON, 200, "status_warm_ratio"),
            Endpoint(
                "not_modified",
                "/api/v1/status/",
                {**JSON, "If-None-Match": etag or '"none"'},
                304,
                "not_modified_ratio",
            ),
            Endpoint("decisions_page", f"/api/v1/decisions/?jurisdiction={code}", JSON, 200, "decisions_page_ratio"),
            Endpoint("matrix_page", "/", HTML, 200, "matrix_page_ratio"),
            Endpoint(
                "timeline_page", f"/timeline/?therapy={therapy}&jurisdiction={code}", HTML, 200, "timeline_page_ratio"
            ),
            # Issue 10: the whole matrix compared across a year, and one cell's history.
            Endpoint("compare_page", "/compare/?from=2024-01-01&to=2025-01-01", HTML, 200, "compare_page_ratio"),
            Endpoint(
                "status_history",
                f"/api/v1/status/history/?jurisdiction={code}&therapy={therapy}",
                JSON,
                200,
                "status_history_ratio",
            ),
            # Full-text search over every synthetic decision's title and summary
            # (the words match thousands at full scale; the page lists the best 50).
            Endpoint(
                "search_page", f"/search/?q=synthetic+approval&jurisdiction={code}", HTML, 200, "search_page_ratio"
            ),
        ]
        for endpoint in endpoints:
            row = _measure(base, endpoint, scale=scale, use_wrk=use_wrk, gunicorn_pid=server.pid, say=say)
            details[endpoint.name] = row
            prefix = {"status": "status_warm"}.get(endpoint.name, endpoint.name)
            figures[endpoint.ratio_key] = row["ratio"]
            figures[f"{prefix}_rps"] = row["endpoint"]["rps"]
            figures[f"{prefix}_p50_ms"] = row["endpoint"]["p50_ms"]
            figures[f"{prefix}_p99_ms"] = row["endpoint"]["p99_ms"]
            figures[f"{prefix}_baseline_rps"] = row["baseline"]["rps"]
        # The 304 against the full-size baseline too, for readers who compare
        # "the same read" rather than "the same bytes".
        full = details["status"]["baseline"]["rps"]
        figures["not_modified_ratio_vs_full_body"] = round(details["not_modified"]["endpoint"]["rps"] / full, 3)
    finally:
        server.stop()
    return figures, details


def _response_cache_clear() -> int:
    """Delete the tracker's kept response bodies, so that the first request is
    really cold: the dataset is deterministic, so an earlier run's body could
    sit under the same ETag. Only those keys, never the whole Redis database
    (REDIS_URL may be shared)."""
    from django.conf import settings
    from redis import Redis

    # The settings' literal mixes strings and an OPTIONS dict, so its inferred value type is too narrow.
    config: dict[str, Any] = settings.CACHES["default"]
    if "redis" not in config["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()  # a local or dummy cache belongs to this process alone
        return -1
    client = Redis.from_url(config["LOCATION"])
    pattern = f"{config.get('KEY_PREFIX', '')}:*:body:*"
    deleted = 0
    for key in client.scan_iter(match=pattern, count=1000):
        deleted += client.delete(key)
    return deleted


def _measure(
    base: str, endpoint: Endpoint, *, scale, use_wrk: bool, gunicorn_pid: int, say: Callable[[str], None]
) -> dict[str, Any]:
    url = base + endpoint.path
    status, _headers, body, _seconds = load.fetch(url, endpoint.headers)
    if status != endpoint.expect_status:
        raise RuntimeError(f"{endpoint.path} answered {status}, expected {endpoint.expect_status}: {body[:300]!r}")
    size = len(body)
    baseline_url = f"{base}/__bench__/json/?size={size}"
    b_status, _h, b_body, _s = load.fetch(baseline_url, JSON)
    if b_status != 200 or (size >= 9 and len(b_body) != size):
        raise RuntimeError(
            f"the baseline view answered {b_status} with {len(b_body)} bytes for size={size}; "
            "is BENCH=1 reaching the server?"
        )

    def run(target: str, headers: dict[str, str], seconds: int) -> dict[str, Any]:
        server_cpu, machine = cpu_seconds([gunicorn_pid]), machine_cpu()
        result = load.run_load(
            target, seconds=seconds, connections=scale.http_connections, headers=headers, prefer_wrk=use_wrk
        )
        row = result.as_dict()
        row["server_cpu_s"] = round(cpu_seconds([gunicorn_pid]) - server_cpu, 2)
        busy, total, postgres = machine_cpu_delta(machine, machine_cpu())
        row["machine_cpu_busy_share"] = round(busy / total, 2) if total else None
        row["postgres_cpu_s"] = round(postgres, 2)
        if result.errors or result.bad_status:
            raise RuntimeError(f"{target}: {result.errors} socket errors, {result.bad_status} bad statuses")
        return row

    if scale.http_warmup:
        run(baseline_url, JSON, scale.http_warmup)
        run(url, endpoint.headers, scale.http_warmup)
    # Alternate so that drift (thermal, other tenants) hits both alike.
    halves = max(1, scale.http_duration // 2)
    b1, e1 = run(baseline_url, JSON, halves), run(url, endpoint.headers, halves)
    e2, b2 = run(url, endpoint.headers, halves), run(baseline_url, JSON, halves)
    baseline, measured = _combine(b1, b2), _combine(e1, e2)
    ratio = round(measured["rps"] / baseline["rps"], 3) if baseline["rps"] else None
    say(
        f"{endpoint.name:15s} {measured['rps']:8.1f} req/s p50 {measured['p50_ms']:7.1f} ms p99 "
        f"{measured['p99_ms']:7.1f} ms | baseline {baseline['rps']:8.1f} req/s | ratio {ratio} | {size:,} bytes | "
        f"CPU (share of one core): client {measured['client_cpu_share']:.0%}, server "
        f"{measured['server_cpu_share']:.0%}, PostgreSQL {measured['postgres_cpu_share']:.0%}"
    )
    return {
        "path": endpoint.path,
        "body_bytes": size,
        "status": endpoint.expect_status,
        "endpoint": measured,
        "baseline": baseline,
        "ratio": ratio,
    }


def _combine(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    seconds = a["seconds"] + b["seconds"]
    requests = a["requests"] + b["requests"]
    return {
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "requests": requests,
        "seconds": round(seconds, 2),
        # Percentiles of two equal-length runs: the mean is close enough for
        # p50; the worse of the two keeps p99 honest.
        "p50_ms": round((a["p50_ms"] + b["p50_ms"]) / 2, 2),
        "p99_ms": round(max(a["p99_ms"], b["p99_ms"]), 2),
        "client_cpu_share": round((a["client_cpu_s"] + b["client_cpu_s"]) / seconds, 3) if seconds else 0.0,
        "server_cpu_share": round((a["server_cpu_s"] + b["server_cpu_s"]) / seconds, 3) if seconds else 0.0,
        "postgres_cpu_share": round((a["postgres_cpu_s"] + b["postgres_cpu_s"]) / seconds, 3) if seconds else 0.0,
        "machine_cpu_busy_share": max(a["machine_cpu_busy_share"] or 0, b["machine_cpu_busy_share"] or 0),
        "generator": a["generator"],
        "runs": [a, b],
    }
