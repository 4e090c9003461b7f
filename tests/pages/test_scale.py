"""The timeline's time axis (`regulatory.pages.scale`): dates to x positions,
with long empty stretches cut short. No database: the scale is arithmetic."""

from __future__ import annotations

import datetime as dt

from regulatory.pages.scale import BREAK_KEEP_DAYS, BREAK_WIDTH_DAYS, TimeScale

X0, X1 = 150.0, 976.0
D = dt.date


def days(start: dt.date, end: dt.date, step: int = 1) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range(0, (end - start).days + 1, step)]


def old_and_modern() -> TimeScale:
    """One decision in 1970, then the modern history from 2017 to 2026."""
    busy = [D(1970, 10, 27), *(D(year, 6, 1) for year in range(2017, 2027))]
    return TimeScale(D(1970, 1, 1), D(2027, 1, 1), busy, X0, X1)


def test_it_maps_the_first_and_last_day_to_the_chart_edges():
    for scale in (TimeScale(D(2020, 1, 1), D(2025, 1, 1), [], X0, X1), old_and_modern()):
        assert scale.x(scale.start) == X0
        assert scale.x(scale.end) == X1


def test_it_keeps_dates_outside_the_window_on_its_edges():
    scale = old_and_modern()

    assert scale.x(D(1900, 1, 1)) == X0
    assert scale.x(D(2100, 1, 1)) == X1


def test_it_maps_later_dates_further_right_across_a_break():
    scale = old_and_modern()
    xs = [scale.x(day) for day in days(scale.start, scale.end, step=7)]

    assert xs == sorted(xs)
    # Strictly increasing outside the cut, where a week is always wider than rounding.
    modern = [scale.x(day) for day in days(D(2016, 1, 1), D(2026, 12, 1), step=30)]
    assert all(a < b for a, b in zip(modern, modern[1:]))


def test_it_is_linear_when_no_stretch_is_empty_for_long():
    busy = [D(2020, 1, 1), D(2022, 6, 1), D(2024, 1, 1)]
    scale = TimeScale(D(2020, 1, 1), D(2025, 1, 1), busy, X0, X1)

    assert scale.breaks == []
    middle = D(2020, 1, 1) + (D(2025, 1, 1) - D(2020, 1, 1)) / 2
    assert abs(scale.x(middle) - (X0 + X1) / 2) <= 0.5  # a day is about 0.45 units here


def test_it_cuts_an_empty_stretch_keeping_a_year_of_air_on_each_side():
    scale = old_and_modern()

    [cut] = scale.breaks
    assert cut.start == D(1970, 10, 27) + dt.timedelta(days=BREAK_KEEP_DAYS)
    assert cut.end == D(2017, 6, 1) - dt.timedelta(days=BREAK_KEEP_DAYS)
    assert scale.in_cut(D(1990, 1, 1))
    assert not scale.in_cut(D(2020, 1, 1))
    assert cut.x0 < cut.x1
    assert cut.title.startswith(f"{cut.start.year}–{cut.end.year}: nothing recorded")


def test_the_cut_is_drawn_as_wide_as_a_few_hundred_days():
    scale = old_and_modern()
    [cut] = scale.breaks
    # The axis is `total` days wide, of which the cut takes BREAK_WIDTH_DAYS.
    expected = (X1 - X0) * BREAK_WIDTH_DAYS / scale.total

    assert abs(cut.width - expected) <= 0.2
    assert cut.width < (X1 - X0) / 10


def test_a_break_gives_the_busy_years_more_room_than_a_linear_axis():
    scale = old_and_modern()
    # Without the empty decades cut, every year gets the same room.
    busy_everywhere = TimeScale(D(1970, 1, 1), D(2027, 1, 1), [D(y, 1, 1) for y in range(1970, 2028)], X0, X1)
    assert busy_everywhere.breaks == []

    def modern_width(s: TimeScale) -> float:
        return s.x(D(2026, 1, 1)) - s.x(D(2017, 1, 1))

    assert modern_width(scale) > 3 * modern_width(busy_everywhere)


def test_it_leaves_no_tick_inside_a_cut():
    scale = old_and_modern()
    [cut] = scale.breaks

    ticks = scale.ticks()
    assert ticks
    assert all(not (cut.x0 < tick.x < cut.x1) for tick in ticks)
    assert [t.x for t in ticks] == sorted(t.x for t in ticks)


def test_it_marks_quarters_on_a_short_window():
    scale = TimeScale(D(2024, 1, 1), D(2025, 7, 1), [D(2024, 6, 1)], X0, X1)

    labels = [t.label for t in scale.ticks()]
    assert labels.count("") >= 4  # Apr, Jul, Oct 2024 and Apr 2025 at least
    assert {"2024", "2025"} <= set(labels)


def test_a_window_of_one_day_still_spans_the_chart():
    scale = TimeScale(D(2024, 3, 1), D(2024, 3, 2), [], X0, X1)

    assert scale.x(D(2024, 3, 1)) == X0
    assert scale.x(D(2024, 3, 2)) == X1
