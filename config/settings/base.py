"""Django, the database, static files, security, the REST framework, the caches, email and logging."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

from config.env import (
    ConfigError,
    env_bool,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_site_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SITE_URL = env_site_url("SITE_URL", "http://127.0.0.1:8000")
SITE_NAME = "Psychedelic Therapy Regulatory Tracker"
# Mounts the benchmark's baseline views under /__bench__/ (make bench only).
BENCH_ENABLED = env_bool("BENCH", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        # Django's own rule for a strong key (check --deploy, security.W009),
        # enforced at start-up: a weak key signs every subscriber's links.
        if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-"):
            raise ConfigError(
                "SECRET_KEY", "must be at least 50 characters, of at least 5 different ones (a long random string)"
            )
        return key
    if SITE_URL.startswith("https://"):
        # Production (an https site): every web and worker host must sign and
        # verify subscriber links with the same key, so it cannot be made up
        # per host.
        raise ConfigError("SECRET_KEY", "must be set when SITE_URL is https (production)")
    # No key configured: keep a random one under var/ so that signed links
    # survive restarts on a developer's machine. Production sets SECRET_KEY.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

_site_host = urlsplit(SITE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", _site_host])
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "config.apps.StaticFilesConfig",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "config.apps.ConfigConfig",
    "regulatory",
    "tracker",
    "watch",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise, so that static files get the headers too.
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.GZipPublicMiddleware",
    # Before anything looks a value up: a NUL in a parameter is a 400, not a 500.
    "config.middleware.UnstorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# Database ------------------------------------------------------------------
# Whether this process serves web requests (config/wsgi.py says so before
# Django starts; `runserver` is one too): their database waits are bounded.
WEB_PROCESS = env_bool("TRACKER_WEB_PROCESS", False) or sys.argv[1:2] == ["runserver"]
_default_db = f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}"
DATABASES = {"default": env_database("DATABASE_URL", _default_db)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _db_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and beat share the file: wait for locks instead of
        # failing, and take the write lock up front to avoid upgrade deadlocks.
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so that a real Celery worker in the end-to-end
    # tests sees the same test database as the test process.
    DATABASES["default"]["TEST"] = {"NAME": str(_db_path.with_name(f"test_{_db_path.stem}.sqlite3"))}
else:
    # A PostgreSQL that stops answering must give a fast 503, not requests
    # that hang until the web server's worker timeout. A connection attempt
    # gives up after DATABASE_CONNECT_TIMEOUT; in web processes a statement
    # runs at most DATABASE_STATEMENT_TIMEOUT (the server enforces it), and
    # any wait for the server ends a little after that even when the server
    # itself is stuck (config/db enforces it on the client). Workers and
    # management commands (migrations, imports) keep no statement limit.
    DATABASES["default"]["ENGINE"] = "config.db"
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1))
    if WEB_PROCESS:
        _statement_timeout = env_int("DATABASE_STATEMENT_TIMEOUT", 5, minimum=1)
        _db_options["options"] = f"-c statement_timeout={_statement_timeout * 1000}"
        _db_options["answer_timeout"] = _statement_timeout + 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
# ISO dates (YYYY-MM-DD) first in forms and the admin's calendar: see config/formats.
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` (run by `make run`, and by a deployment) writes hashed,
# compressed copies that WhiteNoise serves with a year-long immutable
# Cache-Control (config/storage.py). Without it — DEBUG, the tests, a checkout
# where it has not run — the source files are served through the finders
# under their plain names.
_RUNNING_TESTS = "pytest" in sys.modules
STATIC_FROM_SOURCE = env_bool(
    "STATIC_FROM_SOURCE", DEBUG or _RUNNING_TESTS or not (STATIC_ROOT / "staticfiles.json").exists()
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticStorage", "OPTIONS": {"hashed_urls": not STATIC_FROM_SOURCE}},
}
WHITENOISE_USE_FINDERS = STATIC_FROM_SOURCE
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
# Source maps are fetched only by developer tools: not worth compressing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "tbz",
    "xz",
    "br",
    "swf",
    "flv",
    "woff",
    "woff2",
    "3gp",
    "3gpp",
    "asf",
    "avi",
    "m4v",
    "mov",
    "mp4",
    "mpeg",
    "mpg",
    "webm",
    "wmv",
    "map",
)

FORMS_URLFIELD_ASSUME_HTTPS = True

# Reverting from the history view would bypass the services that record
# Changes; editors amend or correct instead.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Security ------------------------------------------------------------------
_https = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# REST framework ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's parsers, refusing NUL bytes, lone surrogates, deep JSON and
    # oversized JSON bodies with a 400 / 413 that names the field.
    "DEFAULT_PARSER_CLASSES": [
        "regulatory.api.parsers.SafeJSONParser",
        "regulatory.api.parsers.SafeFormParser",
        "regulatory.api.parsers.SafeMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # Services' errors: ValidationError → 400 by field, state errors and stale versions → 409.
    "EXCEPTION_HANDLER": "regulatory.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Psychedelic therapy regulatory tracker API",
    "DESCRIPTION": "Dated regulatory decisions, statuses and access programmes for psychedelic-assisted therapies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "regulatory.api.schema_hooks.decision_links",
        "regulatory.api.schema_hooks.decision_write_closed",
    ],
    # One schema component per vocabulary, however many fields use it.
    "ENUM_NAME_OVERRIDES": {
        "PrecisionEnum": "regulatory.models.Precision",
        "DecisionKindEnum": "regulatory.models.DecisionKind",
        "ControlEnum": "regulatory.models.Control",
        "ApprovalStageEnum": "regulatory.models.ApprovalStage",
        "DecisionStateEnum": "regulatory.models.DecisionState",
        "SourceGradeEnum": "regulatory.models.SourceGrade",
        "ProgrammeKindEnum": "regulatory.models.ProgrammeKind",
        "ProgrammeStateEnum": "regulatory.models.ProgrammeState",
    },
}

# Cache (rate limits; shared by web processes through Redis in production) --
REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tracker",
        # A Redis that hangs must not hang requests (the rate limiter fails open).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# HTTP cache (regulatory/httpcache/) ----------------------------------------
# ETags, 304s and rendered reads kept under their ETag, for the API, feeds,
# CSV and the pages anonymous readers see.
# Seconds a rendered read is kept in the cache (the Redis above); 0 turns it off.
RESPONSE_CACHE_SECONDS = env_int("RESPONSE_CACHE_SECONDS", 600, minimum=0)
# Redis is also the broker: what is kept there is bounded, however many
# distinct requests readers make. No body larger than the first is kept; the
# kept bodies hold at most the second in bytes and the third in number (the
# oldest go first). Requests with query parameters a view does not read are
# answered but never kept.
# The whole matrix in three dimensions is ~6 MB as JSON and ~11 MB as HTML at the
# bench's scale (200 jurisdictions x 40 therapies): kept, as before issue 9.
RESPONSE_CACHE_ITEM_BYTES = env_int("RESPONSE_CACHE_ITEM_BYTES", 16 * 1024 * 1024, minimum=0)
RESPONSE_CACHE_MAX_BYTES = env_int("RESPONSE_CACHE_MAX_BYTES", 256 * 1024 * 1024, minimum=RESPONSE_CACHE_ITEM_BYTES)
RESPONSE_CACHE_MAX_ENTRIES = env_int("RESPONSE_CACHE_MAX_ENTRIES", 2000, minimum=1)
# In front of Redis, each process keeps the most recently used bodies in its
# own memory: at most this many bytes in all, and none larger than the second.
RESPONSE_CACHE_LOCAL_BYTES = env_int("RESPONSE_CACHE_LOCAL_BYTES", 64 * 1024 * 1024, minimum=0)
RESPONSE_CACHE_LOCAL_ITEM_BYTES = env_int("RESPONSE_CACHE_LOCAL_ITEM_BYTES", 16 * 1024 * 1024, minimum=0)
# On PostgreSQL, keep the record version (the validators' query) in memory and
# drop it when a write commits, told by LISTEN/NOTIFY: each process holds one
# more database connection. See regulatory/httpcache/version.py. Ignored on SQLite.
RECORD_VERSION_LISTEN = env_bool("RECORD_VERSION_LISTEN", True)

# Health (/healthz) ----------------------------------------------------------
# Seconds one result of the checks (database, broker, a worker ping that waits
# up to 3 s) answers every caller; a token that shows callers the details
# (worker names, database timings) without a staff session. See config/health.py.
HEALTHZ_CACHE_SECONDS = env_int("HEALTHZ_CACHE_SECONDS", 5, minimum=1)
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN")

# Email ---------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ConfigError("EMAIL_USE_SSL", "cannot be set together with EMAIL_USE_TLS")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# Send MAIL, RCPT and DATA in one write when the server offers PIPELINING
# (RFC 2920): two round trips per subscriber email instead of four.
EMAIL_PIPELINING = env_bool("EMAIL_PIPELINING", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Regulatory Tracker <alerts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
