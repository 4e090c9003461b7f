import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """Around each task, what Django does around each request: close a
    database connection that is broken or older than CONN_MAX_AGE, and keep
    the others (settings.CELERY_DB_REUSE_MAX stops Celery closing them all)."""
    from django.db import close_old_connections

    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inline by the caller, inside its transaction: leave its connection alone
    close_old_connections()


@worker_init.connect
def worker_settings_check(**kwargs) -> None:
    """A worker runs the delivery system checks (tracker/checks.py) before it
    takes any task, and does not start when one fails: a worker is where a
    bad claim timeout would double-send, and `celery worker` runs no checks
    of its own."""
    import sys

    from django.core.checks import run_checks

    from tracker.checks import TAG

    errors = [message for message in run_checks(tags=[TAG]) if message.is_serious()]
    if errors:
        sys.stderr.write("".join(f"System check failed: {message}\n" for message in errors))
        # SystemExit, not an exception: Celery logs and ignores those from signal handlers.
        raise SystemExit(1)
