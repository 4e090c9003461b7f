"""The record version: the validator of conditional GETs, in one query."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection

from regulatory.models import Decision, Jurisdiction, Therapy

# --- API, feeds and exports ---------------------------------------------------
# Appended for regulatory/api, feeds.py and exports.py. Like the functions
# above, each runs a fixed number of queries whatever the size of the data.


@dataclass(frozen=True)
class RecordVersion:
    """A cheap fingerprint of everything the read endpoints show."""

    key: str
    last_modified: dt.datetime | None


def _versioned_models() -> list:
    from regulatory.models import (
        AccessProgramme,
        BaselineSource,
        ControlBaseline,
        DatasetRelease,
        ProgrammeSource,
        Regulator,
        Source,
    )

    # Every save and delete of these writes a simple_history row, so the
    # highest history id changes whenever a draft, a source or a reference
    # row changes; publishes, amendments and retractions also append a Change.
    return [
        Decision,
        Source,
        Jurisdiction,
        Regulator,
        Therapy,
        AccessProgramme,
        ProgrammeSource,
        ControlBaseline,
        BaselineSource,
        DatasetRelease,
    ]


@functools.cache
def _version_sql(vendor: str) -> str:
    """The validator's statement, built once: naming the history tables goes
    through simple_history's manager, which is slow to build per request."""
    from regulatory.models import Change

    quote = connection.ops.quote_name
    change_table = quote(Change._meta.db_table)
    columns = [f"(SELECT MAX(id) FROM {change_table})", f"(SELECT MAX(recorded_at) FROM {change_table})"]
    for model in _versioned_models():
        table = quote(model.history.model._meta.db_table)
        columns += [f"(SELECT MAX(history_id) FROM {table})", f"(SELECT MAX(history_date) FROM {table})"]
    return "SELECT " + ", ".join(columns)


def record_version() -> RecordVersion:
    """The validator for conditional GETs, in one query of index-only maxima.

    Runs before the expensive query of a read endpoint, so a 304 costs this
    single statement.
    """
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(connection.vendor))
        row = cursor.fetchone()
    ids, times = row[0::2], row[1::2]
    # SQLite returns text for MAX() over a datetime column: convert it back.
    converted = [_as_datetime(value) for value in times]
    known = [value for value in converted if value is not None]
    return RecordVersion(key=":".join(str(value or 0) for value in ids), last_modified=max(known) if known else None)


def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
