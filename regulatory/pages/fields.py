"""The pieces the analysts' pages parse their query strings with: the
`BadParameter` a view answers with a 400 page, the fields (days, bounds, codes,
known values, search text) and the form they share (`PageForm`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from regulatory.dates import period_end
from regulatory.models import Jurisdiction, Precision
from regulatory.search import Q_MAX_LENGTH, SearchTextField  # noqa: F401 (one `q` field for the pages and the API)

DEFAULT_THERAPY = "mdma-ptsd"
MIN_YEAR, MAX_YEAR = 1900, 2200


class BadParameter(Exception):
    """A query parameter the page cannot use; answered with a 400 page."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


# --- Fields -------------------------------------------------------------------

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _stripped(raw: Any) -> str:
    return (raw or "").strip()


def _day_parse(raw: str) -> dt.date:
    """A full YYYY-MM-DD date (raw is not blank).

    Stricter than `date.fromisoformat`, which also takes '20240301' and week
    dates: analysts copy these URLs, so one spelling is easier to trust."""
    if not _DAY_RE.match(raw):
        raise ValidationError(f"“{raw}” is not a date; use the form YYYY-MM-DD, for example 2024-03-01.")
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"“{raw}” is not a real calendar date.") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    return value


def _bound_parse(raw: str, *, end: bool) -> dt.date:
    """A range bound as YYYY, YYYY-MM or YYYY-MM-DD (raw is not blank): a
    `from` bound is the first day of the period, a `to` bound its last day
    (so to=2024 includes all of 2024)."""
    match = _PARTIAL_RE.match(raw)
    if not match:
        raise ValidationError(f"“{raw}” is not a date; use YYYY-MM-DD (or just YYYY or YYYY-MM).")
    year = int(match[1])
    month, day = (int(g) if g else None for g in match.groups()[1:])
    if not MIN_YEAR <= year <= MAX_YEAR:
        # Also keeps date arithmetic on the bound (axis padding) in range.
        raise ValidationError(f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    try:
        if month is not None and day is not None:  # the pattern has no day without a month
            return dt.date(year, month, day)
        if month is not None:
            first = dt.date(year, month, 1)
            return period_end(first, Precision.MONTH) if end else first
        first = dt.date(year, 1, 1)
        return period_end(first, Precision.YEAR) if end else first
    except ValueError:
        raise ValidationError(f"“{raw}” is not a real calendar date.") from None


class DayField(forms.Field):
    """A full YYYY-MM-DD date, or None when absent or blank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        raw = _stripped(value)
        return _day_parse(raw) if raw else None


class BoundField(forms.Field):
    """One end of a date range, as YYYY, YYYY-MM or YYYY-MM-DD."""

    def __init__(self, *, end: bool, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.end = end

    def to_python(self, value: Any) -> dt.date | None:
        raw = _stripped(value)
        return _bound_parse(raw, end=self.end) if raw else None


class _EveryValue(forms.Widget):
    """Every value of a repeated parameter (a QueryDict's getlist)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        getlist = getattr(data, "getlist", None)
        return getlist(name) if getlist else [data.get(name) or ""]


def codes_param_parse(values: Iterable[str]) -> list[str]:
    """`?jurisdiction=us,au` and `?jurisdiction=us&jurisdiction=au` (what a
    row of checkboxes sends) mean the same."""
    codes: list[str] = []
    for value in values:
        for code in value.split(","):
            code = code.strip().lower()
            if code and code not in codes:
                codes.append(code)
    return codes


class JurisdictionCodesField(forms.Field):
    """Jurisdiction codes, comma-separated or repeated, each one known."""

    widget = _EveryValue

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.known: set[str] = set()

    def to_python(self, value: Any) -> list[str]:
        codes = codes_param_parse(value or [])
        unknown = [c for c in codes if c not in self.known]
        if unknown:
            raise ValidationError(
                f"unknown jurisdiction code{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}. Known codes: {', '.join(sorted(self.known))}."
            )
        return codes


class KnownValueField(forms.Field):
    """One of a fixed set of values, or "" when absent or blank; `message`
    says what is wrong with an unknown `{value}`."""

    def __init__(self, *, values: Iterable[str], message: str, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.values, self.message = list(values), message

    def to_python(self, value: Any) -> str:
        raw = _stripped(value)
        if raw and raw not in self.values:
            raise ValidationError(self.message.format(value=raw, known=", ".join(self.values)))
        return raw


class PageForm(forms.Form):
    """A page's query string: `parse()` gives the cleaned values or raises
    BadParameter for the first field at fault, in the order declared."""

    def __init__(self, params: Mapping[str, Any], *, jurisdictions: Iterable[Jurisdiction] = ()) -> None:
        super().__init__(params)
        if "jurisdiction" in self.fields:
            cast(JurisdictionCodesField, self.fields["jurisdiction"]).known = {j.code for j in jurisdictions}

    def parse(self) -> dict[str, Any]:
        if not self.is_valid():
            name = next(name for name in self.fields if name in self.errors)
            raise BadParameter(name, str(self.errors[name][0]))
        return self.cleaned_data


def bound_param_parse(param: str, raw: str | None, *, end: bool) -> dt.date | None:
    """A range bound as YYYY, YYYY-MM or YYYY-MM-DD: a `from` bound is the
    first day of the period, a `to` bound its last day (so to=2024 includes
    all of 2024)."""
    try:
        return BoundField(end=end).clean(raw)
    except ValidationError as error:
        raise BadParameter(param, error.messages[0]) from None
