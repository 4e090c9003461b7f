"""Arithmetic on partial dates.

The record stores a date known only to the month or the year as the first
day of that period, with a precision ('day', 'month', 'year') beside it.
Whether such a date is past, where it sits on an axis, and what a range
bound like `to=2024-02` includes all come down to the period it names;
every such question is answered here.
"""

from __future__ import annotations

import calendar
import datetime as dt

from regulatory.models import EARLIEST_DATE, LATEST_DATE, Precision

__all__ = ["EARLIEST_DATE", "LATEST_DATE"]  # the record's date range, from the models


def month_end(value: dt.date) -> dt.date:
    """The last day of `value`'s month."""
    return value.replace(day=calendar.monthrange(value.year, value.month)[1])


def period_of(value: dt.date, precision: str) -> tuple[dt.date, dt.date]:
    """The first and last day a partial date can mean."""
    if precision == Precision.YEAR:
        return dt.date(value.year, 1, 1), dt.date(value.year, 12, 31)
    if precision == Precision.MONTH:
        first = value.replace(day=1)
        return first, month_end(first)
    return value, value


def period_end(value: dt.date, precision: str) -> dt.date:
    """The last day a partial date can mean: 'Aug 2025' ends on 31 Aug 2025."""
    return period_of(value, precision)[1]


def is_ahead(value: dt.date | None, precision: str, today: dt.date) -> bool:
    """A target or effective date not yet past: today counts, and so does the
    rest of a month or year given without a day."""
    return value is not None and period_end(value, precision) >= today


def period_middle(value: dt.date, precision: str) -> dt.date:
    first, last = period_of(value, precision)
    return first + (last - first) / 2
