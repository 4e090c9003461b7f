"""Partial dates (`regulatory.dates`): what period a date known to the day,
month or year names."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.dates import is_ahead, month_end, period_end, period_middle, period_of
from regulatory.models import Precision

D = dt.date


@pytest.mark.parametrize(
    "day, end",
    [
        (D(2024, 1, 15), D(2024, 1, 31)),
        (D(2024, 2, 1), D(2024, 2, 29)),
        (D(2023, 2, 28), D(2023, 2, 28)),
        (D(2024, 4, 1), D(2024, 4, 30)),
        (D(2024, 12, 1), D(2024, 12, 31)),
    ],
)
def test_month_end_is_the_last_day_of_the_month_leap_years_included(day, end):
    assert month_end(day) == end


def test_a_month_precision_date_names_its_whole_month():
    assert period_of(D(2025, 8, 1), Precision.MONTH) == (D(2025, 8, 1), D(2025, 8, 31))


def test_a_year_precision_date_names_its_whole_year():
    assert period_of(D(2025, 1, 1), Precision.YEAR) == (D(2025, 1, 1), D(2025, 12, 31))


def test_a_day_precision_date_names_one_day():
    assert period_of(D(2025, 8, 9), Precision.DAY) == (D(2025, 8, 9), D(2025, 8, 9))
    assert period_end(D(2025, 8, 9), Precision.DAY) == D(2025, 8, 9)


def test_an_imprecise_date_stays_ahead_until_its_period_is_over():
    assert is_ahead(D(2025, 8, 1), Precision.MONTH, D(2025, 8, 31))
    assert not is_ahead(D(2025, 8, 1), Precision.MONTH, D(2025, 9, 1))
    assert is_ahead(D(2025, 1, 1), Precision.YEAR, D(2025, 12, 31))
    assert is_ahead(D(2025, 8, 9), Precision.DAY, D(2025, 8, 9))
    assert not is_ahead(D(2025, 8, 9), Precision.DAY, D(2025, 8, 10))
    assert not is_ahead(None, Precision.DAY, D(2025, 8, 10))


def test_the_middle_of_a_period_is_halfway_through_it():
    assert period_middle(D(2024, 1, 1), Precision.YEAR) == D(2024, 7, 1)
    assert period_middle(D(2024, 4, 1), Precision.MONTH) == D(2024, 4, 15)
    assert period_middle(D(2024, 4, 9), Precision.DAY) == D(2024, 4, 9)
