"""Typed readers for environment variables that fail loudly on bad values.

A bad value stops start-up with one line naming the variable, instead of a
traceback far away from the cause (or, worse, a silently wrong default).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from dj_database_url import DBConfig


class ConfigError(SystemExit):
    """Raised for a bad setting; as a SystemExit it prints one line and exits 1."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"Configuration error: {name} {problem}")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, f"must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: str) -> DBConfig:
    """Parse a database URL (postgres://, sqlite:///) into Django's DATABASES entry."""
    import dj_database_url

    raw = env_str(name) or default
    scheme = urlsplit(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(name, f"must be a postgres:// or sqlite:/// URL, got {raw!r}")
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # noqa: BLE001 - dj-database-url raises several types for garbage
        raise ConfigError(name, f"is not a valid database URL ({exc})") from None
    if scheme != "sqlite":
        parts = urlsplit(raw)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ConfigError(name, f"has an invalid port in {raw!r}") from None
        if not parts.hostname or not config.get("NAME"):
            raise ConfigError(name, f"needs a host and a database name, got {raw!r}")
    return config


def env_redis_url(name: str, default: str) -> str:
    raw = env_str(name) or default
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(name, f"must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    try:
        parts.port  # noqa: B018
    except ValueError:
        raise ConfigError(name, f"has an invalid port in {raw!r}") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(name, f"needs a host, got {raw!r}")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ConfigError(name, f"database number must be an integer, got {db!r}")
    return raw


def env_site_url(name: str, default: str) -> str:
    raw = (env_str(name) or default).rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(name, f"must be an absolute http(s) URL, got {raw!r}")
    return raw
