"""Query strings of the analysts' pages, checked.

Each `*_params_parse` reads one page's query string and returns what the
page's builder needs, or raises `BadParameter` naming the parameter at fault
(the view answers it with a 400 page).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from regulatory.dates import period_end
from regulatory.models import Decision, DecisionKind, Jurisdiction, Precision, ProgrammeState, Therapy

DEFAULT_THERAPY = "mdma-ptsd"


class BadParameter(Exception):
    """A query parameter the page cannot use; answered with a 400 page."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


# --- Parameters -------------------------------------------------------------

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


MIN_YEAR, MAX_YEAR = 1900, 2200


def date_param_parse(param: str, raw: str | None) -> dt.date | None:
    """A full YYYY-MM-DD date, or None when the parameter is absent or blank.

    Stricter than `date.fromisoformat`, which also takes '20240301' and week
    dates: analysts copy these URLs, so one spelling is easier to trust."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _DAY_RE.match(raw):
        raise BadParameter(param, f"“{raw}” is not a date; use the form YYYY-MM-DD, for example 2024-03-01.")
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(param, f"“{raw}” is not a real calendar date.") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadParameter(param, f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    return value


def bound_param_parse(param: str, raw: str | None, *, end: bool) -> dt.date | None:
    """A range bound as YYYY, YYYY-MM or YYYY-MM-DD: a `from` bound is the
    first day of the period, a `to` bound its last day (so to=2024 includes
    all of 2024)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _PARTIAL_RE.match(raw)
    if not match:
        raise BadParameter(param, f"“{raw}” is not a date; use YYYY-MM-DD (or just YYYY or YYYY-MM).")
    year, month, day = (int(g) if g else None for g in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        # Also keeps date arithmetic on the bound (axis padding) in range.
        raise BadParameter(param, f"“{raw}” is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}.")
    try:
        if day is not None:
            return dt.date(year, month, day)
        if month is not None:
            first = dt.date(year, month, 1)
            return period_end(first, Precision.MONTH) if end else first
        first = dt.date(year, 1, 1)
        return period_end(first, Precision.YEAR) if end else first
    except ValueError:
        raise BadParameter(param, f"“{raw}” is not a real calendar date.") from None


def jurisdiction_param_parse(params: Mapping[str, Any], jurisdictions: Iterable[Jurisdiction]) -> list[str]:
    """The `jurisdiction` codes asked for, each checked against those known."""
    getlist = getattr(params, "getlist", None)
    codes = codes_param_parse(getlist("jurisdiction") if getlist else [params.get("jurisdiction") or ""])
    known = {j.code for j in jurisdictions}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise BadParameter("jurisdiction", f"unknown jurisdiction code{'s' if len(unknown) > 1 else ''} "
                                           f"{', '.join(unknown)}. Known codes: {', '.join(sorted(known))}.")
    return codes


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


# --- /timeline/ ---------------------------------------------------------------


@dataclass
class TimelineParams:
    therapy: Therapy
    therapies: list[Therapy]
    jurisdictions: list[Jurisdiction]  # every jurisdiction, for the form
    selected_codes: list[str]  # empty: every jurisdiction with decisions
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""

    @property
    def filtering(self) -> bool:
        return bool(self.kind or self.date_from or self.date_to or self.q)

    def matches(self, decision: Decision) -> bool:
        """Whether `decision` passes the kind, date and text filters (those
        that fail are dimmed on the chart and left out of the list)."""
        if self.kind and decision.kind != self.kind:
            return False
        if self.date_from and decision.announced_on < self.date_from:
            return False
        if self.date_to and decision.announced_on > self.date_to:
            return False
        if self.q:
            needle = self.q.casefold()
            haystack = " ".join([decision.title, decision.summary, decision.regulator.name if decision.regulator else "",
                                 decision.get_kind_display()]).casefold()
            if needle not in haystack:
                return False
        return True


def timeline_params_parse(params: Mapping[str, Any]) -> TimelineParams:
    """Check every parameter of /timeline/ (two queries: therapies and
    jurisdictions, which the form lists anyway)."""
    therapies = list(Therapy.objects.all())
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    slug = (params.get("therapy") or DEFAULT_THERAPY).strip()
    therapy = next((t for t in therapies if t.slug == slug), None)
    if therapy is None:
        if "therapy" in params or not therapies:
            known = ", ".join(t.slug for t in therapies) or "none recorded yet"
            raise BadParameter("therapy", f"there is no therapy “{slug}”. Known therapies: {known}.")
        therapy = therapies[0]  # the default slug is missing from this database
    codes = jurisdiction_param_parse(params, jurisdictions)
    kind = (params.get("kind") or "").strip()
    if kind and kind not in DecisionKind.values:
        raise BadParameter("kind", f"there is no kind of decision “{kind}”. Known kinds: "
                                   f"{', '.join(DecisionKind.values)}.")
    date_from = bound_param_parse("from", params.get("from"), end=False)
    date_to = bound_param_parse("to", params.get("to"), end=True)
    if date_from and date_to and date_from > date_to:
        raise BadParameter("from", "the start of the date range is after its end (to).")
    q = (params.get("q") or "").strip()
    if len(q) > 200:
        raise BadParameter("q", "the search text is longer than 200 characters.")
    return TimelineParams(therapy=therapy, therapies=therapies, jurisdictions=jurisdictions,
                          selected_codes=codes, kind=kind, date_from=date_from, date_to=date_to, q=q)


# --- /programmes/ -------------------------------------------------------------


@dataclass
class ProgrammeParams:
    jurisdictions: list[Jurisdiction]
    selected_codes: list[str]
    state: str


def programme_params_parse(params: Mapping[str, Any]) -> ProgrammeParams:
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    codes = jurisdiction_param_parse(params, jurisdictions)
    state = (params.get("state") or "").strip()
    if state and state not in ProgrammeState.values:
        raise BadParameter("state", f"“{state}” is not a programme state; use one of {', '.join(ProgrammeState.values)}.")
    return ProgrammeParams(jurisdictions=jurisdictions, selected_codes=codes, state=state)
