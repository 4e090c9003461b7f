"""Record time: parsing `recorded_as_of` (a moment, never in the future or before the first record)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

from regulatory.models import (
    Change,
)

PARAM = "recorded_as_of"
MIN_YEAR, MAX_YEAR = 1900, 2200
_RECORDED_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$")


class BadRecordTime(ValueError):
    """A `recorded_as_of` the record cannot answer (400, naming the parameter)."""

    param = PARAM


@dataclass(frozen=True)
class RecordTime:
    """The moment R: `at` is the last instant it covers (the end of the day
    or of the minute given, never after now), `raw` as given."""

    at: dt.datetime
    raw: str
    has_time: bool

    @property
    def date(self) -> dt.date:
        return timezone.localtime(self.at).date()

    @property
    def display(self) -> str:
        local = timezone.localtime(self.at)
        text = f"{local.day} {local.strftime('%b %Y')}"
        return f"{text}, {local.strftime('%H:%M')}" if self.has_time else text


def first_record_at() -> dt.datetime | None:
    """When the first Change was recorded (one query)."""
    return Change.objects.order_by("recorded_at").values_list("recorded_at", flat=True).first()


def recorded_as_of_parse(raw: str | None, *, now: dt.datetime | None = None) -> RecordTime | None:
    """`YYYY-MM-DD` (the end of that day, site time) or `YYYY-MM-DDTHH:MM`
    (the end of that minute); None when absent or blank. Raises
    BadRecordTime for a malformed date, a year outside 1900–2200, a moment
    in the future or one before the first record (one query)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _RECORDED_RE.match(raw)
    if not match:
        raise BadRecordTime(f"“{raw[:40]}” is not a moment; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2026-11-30T09:00.")
    year, month, day = (int(g) for g in match.groups()[:3])
    hour, minute = (int(g) if g is not None else None for g in match.groups()[3:])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadRecordTime(f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    try:
        start = dt.datetime(year, month, day, hour or 0, minute or 0)
    except ValueError:
        raise BadRecordTime(f"“{raw}” is not a real date and time.") from None
    has_time = hour is not None
    end = start + (dt.timedelta(minutes=1) if has_time else dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    tz = timezone.get_current_timezone()
    start, end = timezone.make_aware(start, tz), timezone.make_aware(end, tz)
    now = now or timezone.now()
    if start > now:
        raise BadRecordTime(f"“{raw}” is in the future: the record can only be shown as it was.")
    first = first_record_at()
    if first is None or end < first:
        when = timezone.localtime(first).strftime("%Y-%m-%dT%H:%M") if first else "none yet"
        raise BadRecordTime(f"“{raw}” is before the first record ({when}).")
    return RecordTime(at=min(end, now), raw=raw, has_time=has_time)
