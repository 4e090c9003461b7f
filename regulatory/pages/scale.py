"""The timeline's time axis: dates to x positions, with long empty stretches
cut short (`AxisBreak`) so that decades with nothing recorded do not squeeze
the years that matter."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

BREAK_AFTER_DAYS = 8 * 365  # an empty stretch longer than this is cut short...
BREAK_KEEP_DAYS = 365  # ...keeping a year of air on each side...
BREAK_WIDTH_DAYS = 300  # ...and drawn as wide as this many days


@dataclass
class Tick:
    x: float
    label: str  # empty for a minor tick


@dataclass(frozen=True)
class AxisBreak:
    """A long stretch with nothing on it, drawn short so that the decades
    before a therapy's modern history do not squeeze the years that matter."""

    x0: float
    x1: float
    start: dt.date
    end: dt.date

    @property
    def width(self) -> float:
        return round(self.x1 - self.x0, 1)

    @property
    def mid(self) -> float:
        return round((self.x0 + self.x1) / 2, 1)

    @property
    def title(self) -> str:
        return f"{self.start.year}–{self.end.year}: nothing recorded in these lanes; the time axis is shortened here"


class TimeScale:
    """Dates to x positions: linear, except that each empty stretch longer
    than BREAK_AFTER_DAYS is cut down to BREAK_WIDTH_DAYS."""

    def __init__(self, start: dt.date, end: dt.date, busy: Iterable[dt.date], x0: float, x1: float) -> None:
        self.start, self.end, self.x0, self.x1 = start, end, x0, x1
        dates = sorted({d for d in busy if start <= d <= end} | {start, end})
        cuts = [
            (a + dt.timedelta(days=BREAK_KEEP_DAYS), b - dt.timedelta(days=BREAK_KEEP_DAYS))
            for a, b in itertools.pairwise(dates)
            if (b - a).days > BREAK_AFTER_DAYS
        ]
        # (first day, last day, width in "days" on the axis, is a cut)
        self.segments: list[tuple[dt.date, dt.date, float, bool]] = []
        cursor = start
        for cut_start, cut_end in cuts:
            self.segments.append((cursor, cut_start, float((cut_start - cursor).days), False))
            self.segments.append((cut_start, cut_end, float(BREAK_WIDTH_DAYS), True))
            cursor = cut_end
        self.segments.append((cursor, end, float(max((end - cursor).days, 1)), False))
        self.total = sum(width for _, _, width, _ in self.segments)

    def x(self, day: dt.date) -> float:
        day = min(max(day, self.start), self.end)
        before = 0.0
        for first, last, width, _ in self.segments:
            if day <= last:
                fraction = (day - first).days / max((last - first).days, 1)
                return round(self.x0 + (self.x1 - self.x0) * (before + fraction * width) / self.total, 1)
            before += width
        return self.x1

    def in_cut(self, day: dt.date) -> bool:
        return any(cut and first < day < last for first, last, _, cut in self.segments)

    @property
    def breaks(self) -> list[AxisBreak]:
        return [AxisBreak(self.x(first), self.x(last), first, last) for first, last, _, cut in self.segments if cut]

    def ticks(self) -> list[Tick]:
        shown_years = sum((last - first).days for first, last, _, cut in self.segments if not cut) / 365.25
        step = 1 if shown_years <= 14 else 2 if shown_years <= 26 else 5 if shown_years <= 70 else 10
        ticks = []
        for year in range(self.start.year, self.end.year + 1):
            day = dt.date(year, 1, 1)
            if self.start <= day <= self.end and not self.in_cut(day) and (step <= 5 or year % 5 == 0):
                ticks.append(Tick(self.x(day), str(year) if year % step == 0 else ""))
        if shown_years <= 3:
            # A short window: mark the quarters too, so a month is readable.
            for year in range(self.start.year, self.end.year + 1):
                for month in (4, 7, 10):
                    day = dt.date(year, month, 1)
                    if self.start <= day <= self.end and not self.in_cut(day):
                        ticks.append(Tick(self.x(day), ""))
        return ticks
