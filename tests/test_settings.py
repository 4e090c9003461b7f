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
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


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
        # Accepted at start-up before; only `check --deploy` warned (issue 12).
        ("SECRET_KEY", "k3J9s0Qm1Lp8Zx7Vb6Nc5Xd4Fg2Hh0Aa"),  # 32 characters
        ("SECRET_KEY", "ab" * 40),  # long, but of two characters
        ("SECRET_KEY", "django-insecure-" + "x7!kq" * 10),
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


PRODUCTION = {
    "DEBUG": "0",
    "SITE_URL": "https://tracker.example.org",
    "SECRET_KEY": "x7!kq" * 12,
    "ALLOWED_HOSTS": "tracker.example.org",
    "DEFAULT_FROM_EMAIL": "Tracker <alerts@tracker.example.org>",
}


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DEFAULT_FROM_EMAIL"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_the_deploy_checks_with_production_settings():
    result = _deploy_check(**PRODUCTION)

    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    "sender",
    [None, "alerts@localhost", "Regulatory Tracker <alerts@localhost>", "alerts@tracker.localhost", "alerts", ""],
)
def test_it_fails_the_deploy_checks_with_a_sender_on_no_public_domain(sender):
    env = {k: v for k, v in PRODUCTION.items() if k != "DEFAULT_FROM_EMAIL"}
    if sender is not None:
        env["DEFAULT_FROM_EMAIL"] = sender

    result = _deploy_check(**env)

    assert result.returncode == 1
    assert "(config.E001) DEFAULT_FROM_EMAIL" in result.stderr
