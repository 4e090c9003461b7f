"""Celery and its beat schedule, e-mail delivery (tracker/) and watched sources (watch/)."""

from __future__ import annotations

from celery.schedules import crontab
from kombu import Queue

from config.env import (
    ConfigError,
    env_bool,
    env_int,
    env_str,
)
from config.settings.base import REDIS_URL, SITE_URL, TIME_ZONE

# Celery --------------------------------------------------------------------
# Redis is only the transport: PostgreSQL holds the truth (Change outbox,
# Notification rows), and a sweeper on beat re-queues whatever Redis loses.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes every database connection before and after
# each task unless this is set (then once every 2 x this many tasks): a new
# PostgreSQL connection per task. config/celery.py applies Django's own rule
# instead (CONN_MAX_AGE, health checks, errors), as a request does.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that hangs (not refusing, just silent) must not hang a web request
# that queues a task: bounded socket waits and one retry, after which the
# work is left to the sweeper (tracker.tasks.enqueue).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "max_retries": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The sweeper's tasks have a queue of their own, which every worker consumes
# (no -Q needed) in turn with the default one: a heal is not stuck behind a
# backlog of send batches, which is exactly when it is needed.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("tracker-sweeper"))
CELERY_TASK_ROUTES = {
    "tracker.tasks.stalled_heal": {"queue": "tracker-sweeper"},
    "tracker.tasks.stalled_sweep": {"queue": "tracker-sweeper"},
}


def _env_clock(name: str, default: str) -> tuple[int, int]:
    """An HH:MM time of day (UTC, like CELERY_TIMEZONE)."""
    raw = env_str(name, default)
    hour, _, minute = raw.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(name, f"must be a time of day as HH:MM, got {raw!r}")
    return int(hour), int(minute)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DIGEST_DAILY_AT = _env_clock("DIGEST_DAILY_AT", "07:00")
DIGEST_WEEKLY_AT = _env_clock("DIGEST_WEEKLY_AT", env_str("DIGEST_DAILY_AT", "07:00"))
DIGEST_WEEKLY_DAY = env_str("DIGEST_WEEKLY_DAY", "monday").lower()
if DIGEST_WEEKLY_DAY not in _WEEKDAYS:
    raise ConfigError("DIGEST_WEEKLY_DAY", f"must be a day of the week (monday ... sunday), got {DIGEST_WEEKLY_DAY!r}")

# Delivery (tracker/). Claims older than TRACKER_CLAIM_TIMEOUT belong to a
# dead worker and are released by the sweeper. A live worker re-asserts the
# claims of its batch whenever a quarter of the timeout has passed, so the
# timeout must stay well above that quarter plus the time one message can
# take (a connection and a send, each bounded by EMAIL_TIMEOUT), which the
# system check tracker.E001 (tracker/checks.py) verifies; a worker refuses to
# start when it fails. A batch that does run over skips what was released
# rather than mailing it twice.
TRACKER_SWEEP_INTERVAL = env_int("TRACKER_SWEEP_INTERVAL", 300, minimum=10)
# Self-healing (tracker/delivery/heartbeat.py, sweeper.stalled_heal): every
# worker process renews its heartbeat row every HEARTBEAT_INTERVAL seconds; one
# silent for HEARTBEAT_TIMEOUT is dead, and beat's heal (every HEAL_INTERVAL
# seconds) releases its claims and queues them again. When no live worker has
# worked for LOST_AFTER seconds, unsent work nobody holds was lost by the
# broker and is queued again.
TRACKER_HEARTBEAT_INTERVAL = env_int("TRACKER_HEARTBEAT_INTERVAL", 2, minimum=1)
TRACKER_HEARTBEAT_TIMEOUT = env_int("TRACKER_HEARTBEAT_TIMEOUT", 10, minimum=3)
TRACKER_HEAL_INTERVAL = env_int("TRACKER_HEAL_INTERVAL", 5, minimum=1)
TRACKER_LOST_AFTER = env_int("TRACKER_LOST_AFTER", 5, minimum=1)
TRACKER_STALE_AFTER = env_int("TRACKER_STALE_AFTER", 600, minimum=0)
TRACKER_CLAIM_TIMEOUT = env_int("TRACKER_CLAIM_TIMEOUT", 900, minimum=0)
TRACKER_FAN_OUT_CHUNK = env_int("TRACKER_FAN_OUT_CHUNK", 5000, minimum=1)
TRACKER_SEND_BATCH = env_int("TRACKER_SEND_BATCH", 200, minimum=1)
# Transient SMTP failures are retried by the task after RETRY_BASE * 2^n
# seconds (capped at 5 minutes: short ETAs, far below the visibility timeout),
# at most TRACKER_MAX_RETRIES times per task; a row is given up on after
# TRACKER_MAX_ATTEMPTS claims in all (task retries and sweeps together).
TRACKER_RETRY_BASE = env_int("TRACKER_RETRY_BASE", 10, minimum=1)
TRACKER_MAX_RETRIES = env_int("TRACKER_MAX_RETRIES", 5, minimum=0)
TRACKER_MAX_ATTEMPTS = env_int("TRACKER_MAX_ATTEMPTS", 10, minimum=1)
TRACKER_CONFIRM_MAX_AGE_DAYS = env_int("TRACKER_CONFIRM_MAX_AGE_DAYS", 7, minimum=1)
# Celery time limits of the delivery tasks, in seconds. At the soft limit the
# task is interrupted (a send batch gives back the rows it has not sent); a
# minute later the hard limit kills the worker child, whose claims the
# sweeper then releases. Digest planning walks every subscriber, so it gets
# its own, longer limit. A batch of TRACKER_SEND_BATCH messages normally
# takes seconds.
TRACKER_TASK_TIME_LIMIT = env_int("TRACKER_TASK_TIME_LIMIT", 600, minimum=10)
TRACKER_DIGEST_PLAN_TIME_LIMIT = env_int("TRACKER_DIGEST_PLAN_TIME_LIMIT", 3000, minimum=10)
# Subscribe requests per hour, from one client address and for one email address.
SUBSCRIBE_RATE_PER_IP = env_int("SUBSCRIBE_RATE_PER_IP", 20, minimum=1)
SUBSCRIBE_RATE_PER_ADDRESS = env_int("SUBSCRIBE_RATE_PER_ADDRESS", 5, minimum=1)
# Behind a reverse proxy the client address is the last X-Forwarded-For hop;
# without one that header is client-controlled and ignored.
TRACKER_TRUST_X_FORWARDED_FOR = env_bool("BEHIND_PROXY", False)
# A hung broker (a stopped Redis accepts connections and never answers) must
# not hold a subscribe request: publishing gives up within a few seconds and
# the task is left for the sweeper. The socket timeout stays above the
# worker's 1 s BRPOP so that an idle worker never times out.
CELERY_BROKER_TRANSPORT_OPTIONS |= {"socket_connect_timeout": 2, "socket_timeout": 2}

CELERY_BEAT_SCHEDULE: dict = {
    "tracker-digest-daily": {
        "task": "tracker.tasks.digest_plan",
        "schedule": crontab(hour=DIGEST_DAILY_AT[0], minute=DIGEST_DAILY_AT[1]),
        "args": ("daily",),
    },
    "tracker-digest-weekly": {
        "task": "tracker.tasks.digest_plan",
        "schedule": crontab(hour=DIGEST_WEEKLY_AT[0], minute=DIGEST_WEEKLY_AT[1], day_of_week=DIGEST_WEEKLY_DAY[:3]),
        "args": ("weekly",),
    },
    "tracker-sweep": {
        "task": "tracker.tasks.stalled_sweep",
        "schedule": float(TRACKER_SWEEP_INTERVAL),
        # A sweep that waited longer than the interval is superseded by the next one.
        "options": {"expires": float(TRACKER_SWEEP_INTERVAL)},
    },
    "tracker-heal": {
        "task": "tracker.tasks.stalled_heal",
        "schedule": float(TRACKER_HEAL_INTERVAL),
        "options": {"expires": float(TRACKER_HEAL_INTERVAL)},
    },
}

# Watched sources (watch/): polls of official feeds and the weekly link check.
# Every request names the tracker (User-Agent), waits at most WATCH_TIMEOUT
# seconds, reads at most WATCH_MAX_BYTES, and goes to a host only after the
# previous one there finished and WATCH_HOST_INTERVAL seconds passed (across
# processes, through Redis). 5xx answers and timeouts are retried
# WATCH_RETRIES times after WATCH_RETRY_BACKOFF * 2^n seconds; a source
# failing for WATCH_FLAG_AFTER seconds is flagged in the admin and /healthz.
WATCH_USER_AGENT = env_str(
    "WATCH_USER_AGENT", f"RegulatoryTracker/1.0 (+{SITE_URL}; watches official sources for new decisions)"
)
WATCH_TIMEOUT = env_int("WATCH_TIMEOUT", 20, minimum=1)
WATCH_MAX_BYTES = env_int("WATCH_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
WATCH_MAX_REDIRECTS = env_int("WATCH_MAX_REDIRECTS", 10, minimum=1)
WATCH_HOST_INTERVAL = float(env_int("WATCH_HOST_INTERVAL_MS", 2000, minimum=0)) / 1000
WATCH_RETRIES = env_int("WATCH_RETRIES", 2, minimum=0)
WATCH_RETRY_BACKOFF = float(env_int("WATCH_RETRY_BACKOFF_MS", 2000, minimum=0)) / 1000
WATCH_FLAG_AFTER = env_int("WATCH_FLAG_AFTER", 24 * 3600, minimum=60)
WATCH_POLL_EVERY = env_int("WATCH_POLL_EVERY", 300, minimum=10)
# A source link answering 5xx or timing out this many weekly checks in a row is broken.
WATCH_LINK_BROKEN_AFTER = env_int("WATCH_LINK_BROKEN_AFTER", 2, minimum=1)
WATCH_LINK_CHECK_DAY = env_str("WATCH_LINK_CHECK_DAY", "sunday").lower()
if WATCH_LINK_CHECK_DAY not in _WEEKDAYS:
    raise ConfigError(
        "WATCH_LINK_CHECK_DAY", f"must be a day of the week (monday ... sunday), got {WATCH_LINK_CHECK_DAY!r}"
    )
# Beat: queue the sources that are due (each polls at its own interval, set in
# the admin) every WATCH_POLL_EVERY seconds; check every cited link weekly.
CELERY_BEAT_SCHEDULE["watch-poll-due"] = {
    "task": "watch.tasks.sources_poll_due",
    "schedule": float(WATCH_POLL_EVERY),
    "options": {"expires": float(WATCH_POLL_EVERY)},
}
CELERY_BEAT_SCHEDULE["watch-link-check"] = {
    "task": "watch.tasks.links_check",
    "schedule": crontab(hour=3, minute=30, day_of_week=WATCH_LINK_CHECK_DAY[:3]),
}
# Editors who opted in get one email a day of the new candidates, planned at
# the first run from WATCH_CANDIDATE_MAIL_AT (UTC) on; every run also queues
# again the emails left unsent for WATCH_CANDIDATE_MAIL_STALE seconds.
WATCH_CANDIDATE_MAIL_AT = _env_clock("WATCH_CANDIDATE_MAIL_AT", env_str("DIGEST_DAILY_AT", "07:00"))
WATCH_CANDIDATE_MAIL_STALE = env_int("WATCH_CANDIDATE_MAIL_STALE", 300, minimum=0)
WATCH_CANDIDATE_MAIL_EVERY = env_int("WATCH_CANDIDATE_MAIL_EVERY", 300, minimum=10)
CELERY_BEAT_SCHEDULE["watch-candidate-mail"] = {
    "task": "watch.tasks.candidate_mail_run",
    "schedule": float(WATCH_CANDIDATE_MAIL_EVERY),
    "options": {"expires": float(WATCH_CANDIDATE_MAIL_EVERY)},
}
