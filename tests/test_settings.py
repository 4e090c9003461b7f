"""Start-up with bad configuration: one line naming the variable, exit 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _check(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    environ.update(env)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysqlx://nowhere"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:notaport/db"),
        ("DATABASE_URL", "postgres:///"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_URL", "redis://127.0.0.1:99999999/0"),
        ("REDIS_URL", "redis://127.0.0.1:6379/zero"),
        ("DEBUG", "maybe"),
        ("EMAIL_PORT", "smtp"),
        ("SITE_URL", "tracker.example.org"),
        ("SECRET_KEY", "short"),
    ],
)
def test_it_stops_on_a_bad_value_with_one_line_naming_the_variable(name, value):
    result = _check(**{name: value})

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {name} ")


def test_it_requires_a_secret_key_in_production():
    result = _check(SITE_URL="https://tracker.example.org")

    assert result.returncode == 1
    assert result.stderr.strip() == "Configuration error: SECRET_KEY must be set when SITE_URL is https (production)"


def test_it_starts_on_the_embedded_defaults():
    result = _check()

    assert result.returncode == 0, result.stderr


def test_it_passes_the_deploy_checks_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "SITE_URL": "https://tracker.example.org",
             "SECRET_KEY": "x7!kq" * 12, "ALLOWED_HOSTS": "tracker.example.org"},
        capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 0, result.stderr + result.stdout
