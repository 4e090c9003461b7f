"""The bench sets up what it needs in a fresh clone, where var/ does not exist yet."""

from __future__ import annotations

import redis

from bench import environment


def test_it_starts_its_embedded_redis_and_places_its_sqlite_file_without_a_var_folder(tmp_path, monkeypatch):
    missing = tmp_path / "var"
    monkeypatch.setattr(environment, "VAR", missing)
    monkeypatch.delenv("BENCH_DATABASE", raising=False)

    db = environment.bench_database("", quick=True)
    server, url = environment.start_embedded_redis()
    try:
        assert redis.Redis.from_url(url).ping()
    finally:
        server.shutdown()

    assert db.vendor == "sqlite" and missing.is_dir() and db.name == str(missing / "tracker_bench_quick.sqlite3")
