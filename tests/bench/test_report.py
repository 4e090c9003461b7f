"""The results file and the generated table."""

from __future__ import annotations

import json

from bench import report
from bench.run import Bench
from bench.scale import QUICK


def test_it_writes_every_required_key_even_when_nothing_ran(tmp_path):
    bench = Bench(QUICK, use_wrk=False, keep_db=True, phases=set())
    path = tmp_path / "latest.json"
    report.results_write(bench.results(), path)
    data = json.loads(path.read_text())
    assert set(report.REQUIRED_KEYS) <= set(data)
    assert data["quick"] is True


def test_it_judges_targets_in_the_right_direction():
    assert report.target_met("mail_ratio", 0.5) is True
    assert report.target_met("mail_ratio", 0.49) is False
    assert report.target_met("digest_100k_seconds", 301) is False
    assert report.target_met("mail_duplicates", 0) is True
    assert report.target_met("mail_ratio", None) is None


def test_it_replaces_only_the_generated_block_in_the_docs(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(f"# Benchmarks\n\nProse before.\n\n{report.BEGIN}\nold table\n{report.END}\n\nProse after.\n")
    results = Bench(QUICK, use_wrk=False, keep_db=True, phases=set()).results()
    report.docs_update(results, path)
    text = path.read_text()
    assert "old table" not in text
    assert "Prose before." in text and "Prose after." in text
    assert "| endpoint | req/s |" in text
