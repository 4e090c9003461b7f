"""Fixtures for the analysts' pages: a small record shaped like the shipped
dataset, and a fixed "today"."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.pages.sample import Sample, sample_build

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def today():
    """Freeze the clock on TODAY, so that "upcoming" and "today" are stable."""
    with time_machine.travel(dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=dt.UTC), tick=False):
        yield TODAY


@pytest.fixture
def sample(db, today) -> Sample:
    return sample_build()
