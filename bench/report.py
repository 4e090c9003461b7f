"""The results: bench/results/latest.json (one key per figure) and the table
in docs/benchmarks.md (between the results markers; the prose around them is
kept)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"

# The figures the issue asks for; each is present in every results file
# (null when its phase could not run, with the reason under "skipped").
REQUIRED_KEYS = (
    "mail_rate_baseline",
    "mail_rate_tracker",
    "mail_ratio",
    "mail_ratio_two_workers",
    "mail_duplicates",
    "status_warm_ratio",
    "not_modified_ratio",
    "decisions_page_ratio",
    "matrix_page_ratio",
    "digest_100k_seconds",
    "digest_peak_rss_mb",
    "publish_to_inbox_p50_s",
    "publish_to_inbox_p99_s",
    "quick",
)

# (figure, target, higher is better) for the targets.
TARGETS: dict[str, tuple[float, bool]] = {
    "mail_ratio": (0.5, True),
    "status_warm_ratio": (0.5, True),
    "not_modified_ratio": (0.9, True),
    "decisions_page_ratio": (0.3, True),
    "digest_100k_seconds": (300.0, False),
    "digest_peak_rss_mb": (500.0, False),
    "publish_to_inbox_p50_s": (1.0, False),
    "mail_duplicates": (0, False),
}


def target_met(key: str, value: Any) -> bool | None:
    if key not in TARGETS or value is None:
        return None
    target, higher = TARGETS[key]
    return value >= target if higher else value <= target


def results_write(results: dict[str, Any], path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text}{unit}"


def _verdict(key: str, value: Any) -> str:
    met = target_met(key, value)
    if met is None:
        return ""
    target, higher = TARGETS[key]
    sign = "≥" if higher else "≤"
    return f"{'✅' if met else '❌'} {sign} {_fmt(target)}"


def table_render(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    get = results.get
    lines = [
        f"Run of {meta.get('finished_at', '?')} ({'quick' if get('quick') else 'full'} scale), commit "
        f"`{machine.get('commit', '?')}`: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores "
        f"(load generator, server, workers, sink, PostgreSQL and Redis all share them), "
        f"{machine.get('memory_gb', '?')} GB RAM, {machine.get('os', '?')}, Python {machine.get('python', '?')}, "
        f"{meta.get('database', '?')}, load generator: {meta.get('load_generator', '?')}; "
        f"load average at start {meta.get('loadavg_at_start', '?')}, at end {meta.get('loadavg_at_end', '?')} "
        f"(other work on the machine counts against every figure).",
        "",
        f"Reproduce: `{meta.get('command', 'make bench')}`",
        "",
        "### Dataset",
        "",
        "| what | figure |",
        "| --- | --- |",
    ]
    ds = results.get("details", {}).get("dataset", {})
    for label, key in (("rows inserted", "total_rows"), ("build time (s)", "seconds"), ("rows/s", "rows_per_second")):
        lines.append(f"| {label} | {_fmt(ds.get(key))} |")
    for table, count in ds.get("rows", {}).items():
        lines.append(f"| {table} | {_fmt(count)} |")
    lines += [
        "",
        "### HTTP (gunicorn, 2 sync workers; wrk, 1 thread)",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | body bytes | bare JsonResponse req/s | ratio | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    http = results.get("details", {}).get("http", {})
    for name, label, ratio_key in (
        ("status", "`/api/v1/status/` warm (whole matrix)", "status_warm_ratio"),
        ("not_modified", "`/api/v1/status/` with If-None-Match (304)", "not_modified_ratio"),
        ("decisions_page", "`/api/v1/decisions/?jurisdiction=…` (100 a page)", "decisions_page_ratio"),
        ("matrix_page", "`/` matrix page", "matrix_page_ratio"),
        ("timeline_page", "`/timeline/` page", "timeline_page_ratio"),
        ("compare_page", "`/compare/` page (whole matrix, two dates)", "compare_page_ratio"),
        ("status_history", "`/api/v1/status/history/` (one cell)", "status_history_ratio"),
        ("search_page", "`/search/?q=…` page (full-text)", "search_page_ratio"),
    ):
        row = http.get(name)
        if not row:
            lines.append(f"| {label} | — | — | — | — | — | — | {_verdict(ratio_key, None)} |")
            continue
        ep, base = row["endpoint"], row["baseline"]
        lines.append(
            f"| {label} | {_fmt(ep['rps'])} | {_fmt(ep['p50_ms'])} | {_fmt(ep['p99_ms'])} | {_fmt(row['body_bytes'])} "
            f"| {_fmt(base['rps'])} | {_fmt(get(ratio_key))} | {_verdict(ratio_key, get(ratio_key))} |"
        )
    lines.append(
        f"\nFirst request to `/api/v1/status/` after the server starts: {_fmt(get('status_first_request_s'), ' s')}."
    )
    lines += [
        "",
        "### Mail (Celery worker on Redis and the database; SMTP sink on loopback)",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
    ]
    for key, label, unit in (
        ("mail_messages", "messages per run", ""),
        ("mail_rate_baseline", "bare smtplib loop, one connection, mean of a run before and after (emails/s)", ""),
        ("mail_rate_tracker", "tracker, 1 worker: publish → all received (emails/s)", ""),
        ("mail_ratio", "ratio, 1 worker", ""),
        ("mail_rate_tracker_two_workers", "tracker, 2 worker processes (emails/s)", ""),
        ("mail_ratio_two_workers", "ratio, 2 workers", ""),
        ("mail_duplicates", "duplicates (sink and database)", ""),
        ("publish_to_inbox_p50_s", "publish → inbox p50, idle", " s"),
        ("publish_to_inbox_p99_s", "publish → inbox p99, idle", " s"),
        ("digest_subscribers", "daily digest: subscribers mailed", ""),
        ("digest_100k_seconds", "daily digest (`send_digests daily`): wall time", " s"),
        ("digest_rate", "daily digest: emails/s", ""),
        ("digest_peak_rss_mb", "daily digest: peak RSS of any process", " MB"),
        ("digest_beat_two_workers_seconds", "same digest as beat runs it, 2 workers: wall time", " s"),
        ("digest_beat_two_workers_rate", "same, emails/s", ""),
        ("digest_beat_two_workers_peak_rss_mb", "same, peak RSS of any process", " MB"),
    ):
        lines.append(f"| {label} | {_fmt(get(key), unit)} | {_verdict(key, get(key))} |")
    skipped = results.get("skipped") or {}
    if skipped:
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- {phase}: {reason}" for phase, reason in skipped.items()]
    return "\n".join(lines)


def docs_update(results: dict[str, Any], path: Path = DOCS) -> None:
    """Replace the generated table in docs/benchmarks.md, keeping the prose."""
    block = f"{BEGIN}\n{table_render(results)}\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
