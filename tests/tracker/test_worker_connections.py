"""Celery tasks keep their database connection between tasks, as requests
do (CONN_MAX_AGE), instead of Celery's default of a new one per task."""

from __future__ import annotations

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection, transaction

from config.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _around_a_task() -> None:
    fixup = DjangoWorkerFixup(app)
    task = type("Task", (), {"request": type("Request", (), {"is_eager": False})()})()
    for signal, hook in ((task_prerun, fixup.on_task_prerun), (task_postrun, fixup.on_task_postrun)):
        hook(sender=task)  # what Celery's Django fix-up does around each task
        signal.send(sender=task, task_id="t", task=task, args=(), kwargs={})


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite connections are not kept (CONN_MAX_AGE 0)")
def test_a_worker_keeps_its_connection_from_one_task_to_the_next():
    connection.ensure_connection()
    before = connection.connection

    _around_a_task()
    _around_a_task()

    assert connection.connection is before


def test_a_task_run_inline_leaves_the_callers_connection_and_transaction_alone():
    task = type("Task", (), {"request": type("Request", (), {"is_eager": True})()})()

    with transaction.atomic():
        connection.ensure_connection()
        before = connection.connection
        # Django's rule would close a connection whose autocommit differs from
        # the settings' (as inside this transaction), and doom the transaction.
        task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
        task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={})

        assert connection.connection is before
        assert not connection.needs_rollback


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite connections are not kept (CONN_MAX_AGE 0)")
def test_a_worker_replaces_a_connection_older_than_conn_max_age():
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1

    _around_a_task()

    assert connection.connection is None  # closed; the next query opens a new one
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
