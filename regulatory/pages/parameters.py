"""Query strings of the analysts' pages, checked with Django forms.

Each `*_params_parse` binds one page's query string to its form and returns
what the page's builder needs, or raises `BadParameter` naming the first
parameter at fault (the view answers it with a 400 page). The forms run no
queries: the therapies and jurisdictions they check against are fetched by
the parse functions, once, because the pages list them anyway.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from regulatory.models import Decision, DecisionKind, Jurisdiction, ProgrammeState, Therapy
from regulatory.pages.fields import (  # noqa: F401 (re-exported: the old import paths keep working)
    _DAY_RE,
    _PARTIAL_RE,
    DEFAULT_THERAPY,
    Q_MAX_LENGTH,
    BadParameter,
    BoundField,
    DayField,
    JurisdictionCodesField,
    KnownValueField,
    PageForm,
    SearchTextField,
    _bound_parse,
    _day_parse,
    _EveryValue,
    _stripped,
    bound_param_parse,
    codes_param_parse,
)

# --- / (the matrix) -------------------------------------------------------------


class MatrixForm(PageForm):
    as_of = DayField()


def matrix_params_parse(params: Mapping[str, Any]) -> dt.date | None:
    """The `as_of` date of the matrix, None for today."""
    return MatrixForm(params).parse()["as_of"]


# --- / (the matrix): filters, record time, exports (issue 10, "exports") ------
#
# The matrix's filters are kept in the URL as GET parameters, and the same
# query string drives its CSV and XLSX exports (/exports/matrix.csv, .xlsx).
# Built on MatrixForm, so a parameter declared there (as_of) is read the same.


class TherapySlugsField(forms.Field):
    """Therapy slugs, comma-separated or repeated, each one known; [] for all."""

    widget = _EveryValue

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.known: list[str] = []

    def to_python(self, value: Any) -> list[str]:
        slugs = codes_param_parse(value or [])
        unknown = [s for s in slugs if s not in self.known]
        if unknown:
            raise ValidationError(
                f"there is no therapy {', '.join(f'“{s}”' for s in unknown)}. "
                f"Known therapies: {', '.join(self.known) or 'none recorded yet'}."
            )
        return slugs


_RECORD_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2})?$")


class RecordTimeField(forms.Field):
    """`recorded_as_of`: YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC), not in the
    future; (the text as given, the moment it names) or None. A date alone
    names the end of that day. The record-time views themselves (and the
    check against the first record) belong to the compare page's branch;
    here the value is read, shown and passed on."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> tuple[str, dt.datetime] | None:
        from django.utils import timezone

        raw = _stripped(value)
        if not raw:
            return None
        if not _RECORD_TIME_RE.match(raw):
            raise ValidationError(f"“{raw}” is not a record time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC).")
        day = _day_parse(raw[:10])
        if len(raw) > 10:
            try:
                moment = dt.datetime.combine(day, dt.time.fromisoformat(raw[11:]), tzinfo=dt.UTC)
            except ValueError:
                raise ValidationError(f"“{raw}” is not a real time of day.") from None
            future = moment > timezone.now()
        else:
            moment = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
            future = day > timezone.now().astimezone(dt.UTC).date()  # today (so far) is not the future
        if future:
            raise ValidationError(f"“{raw}” is in the future: the record cannot be shown as it will be.")
        return raw, moment


@dataclass
class MatrixParams:
    """What the matrix (and its exports) show: the date, the record time, and
    the rows and columns the filters keep, with everything needed to put the
    same filters in a link."""

    as_of: dt.date | None  # None: today
    recorded_as_of: str  # "" when not asked for; as given otherwise
    recorded_at: dt.datetime | None
    therapies: list[Therapy]  # every therapy, in matrix order
    jurisdictions: list[Jurisdiction]  # every jurisdiction, in matrix order
    therapy_slugs: list[str]  # asked for; [] for all
    jurisdiction_codes: list[str]  # asked for; [] for all
    members: bool  # member states and US states under the jurisdictions shown

    @property
    def filtering(self) -> bool:
        return bool(self.therapy_slugs or self.jurisdiction_codes or not self.members)

    @property
    def therapies_shown(self) -> list[Therapy]:
        if not self.therapy_slugs:
            return self.therapies
        return [t for t in self.therapies if t.slug in self.therapy_slugs]

    @property
    def jurisdictions_shown(self) -> list[Jurisdiction]:
        """The jurisdictions asked for (all when none), each with the
        jurisdictions under it unless `members` is off."""
        chosen = set(self.jurisdiction_codes)
        by_id = {j.pk: j for j in self.jurisdictions}

        def wanted(j: Jurisdiction) -> bool:
            if j.parent_id and not self.members:
                return j.code in chosen
            if not chosen or j.code in chosen:
                return True
            parent = by_id.get(j.parent_id) if j.parent_id else None
            return parent is not None and parent.code in chosen

        return [j for j in self.jurisdictions if wanted(j)]

    def scope_query(self) -> dict[str, str]:
        """The scope as the feeds, the decisions export and the subscribe
        form read it: the codes of the rows shown (so a member state shown
        under its union is named), nothing for "all"."""
        query: dict[str, str] = {}
        if self.jurisdiction_codes or not self.members:
            query["jurisdiction"] = ",".join(j.code for j in self.jurisdictions_shown)
        if self.therapy_slugs:
            query["therapy"] = ",".join(t.slug for t in self.therapies_shown)
        return query

    def view_query(self) -> dict[str, str]:
        """The matrix's own query string (for the exports; the permalink pins
        the date and the record time on top of it), in one fixed order."""
        query: dict[str, str] = {}
        if self.as_of:
            query["as_of"] = self.as_of.isoformat()
        if self.recorded_as_of:
            query["recorded_as_of"] = self.recorded_as_of
        if self.jurisdiction_codes:
            query["jurisdiction"] = ",".join(self.jurisdiction_codes)
        if self.therapy_slugs:
            query["therapy"] = ",".join(self.therapy_slugs)
        if not self.members:
            query["members"] = "0"
        return query


class MatrixFilterForm(MatrixForm):
    # The compare branch may declare `recorded_as_of` on MatrixForm too: then
    # this declaration can go (the subclass's wins meanwhile).
    recorded_as_of = RecordTimeField()
    jurisdiction = JurisdictionCodesField()
    therapy = TherapySlugsField()
    members = KnownValueField(
        values=["1", "0"],
        message="“{value}” is not a choice; use members=1 to show member states and US states "
        "under their union or country, members=0 to hide them.",
    )

    def __init__(
        self, params: Mapping[str, Any], *, therapies: Iterable[Therapy], jurisdictions: Iterable[Jurisdiction]
    ) -> None:
        super().__init__(params, jurisdictions=jurisdictions)
        cast(TherapySlugsField, self.fields["therapy"]).known = [t.slug for t in therapies]


def matrix_filters_parse(params: Mapping[str, Any]) -> MatrixParams:
    """Every parameter of the matrix and its exports (two queries: therapies
    and jurisdictions, which the matrix lists anyway)."""
    from regulatory.selectors import therapy_list

    therapies = list(therapy_list())
    jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    data = MatrixFilterForm(params, therapies=therapies, jurisdictions=jurisdictions).parse()
    record = data["recorded_as_of"]
    return MatrixParams(
        as_of=data["as_of"],
        recorded_as_of=record[0] if record else "",
        recorded_at=record[1] if record else None,
        therapies=therapies,
        jurisdictions=jurisdictions,
        therapy_slugs=data["therapy"],
        jurisdiction_codes=data["jurisdiction"],
        members=data["members"] != "0",
    )


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
            haystack = " ".join(
                [
                    decision.title,
                    decision.summary,
                    decision.regulator.name if decision.regulator else "",
                    decision.get_kind_display(),
                ]
            ).casefold()
            if needle not in haystack:
                return False
        return True


class TherapySlugField(forms.Field):
    """A therapy's slug, the default one when absent or blank. Where the
    default is missing from the database, the first therapy stands in for
    it, unless `therapy` was asked for by name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.therapies: list[Therapy] = []

    def to_python(self, value: Any) -> Therapy:
        slug = (value or DEFAULT_THERAPY).strip()
        therapy = next((t for t in self.therapies if t.slug == slug), None)
        if therapy is None:
            if value is not None or not self.therapies:
                known = ", ".join(t.slug for t in self.therapies) or "none recorded yet"
                raise ValidationError(f"there is no therapy “{slug}”. Known therapies: {known}.")
            therapy = self.therapies[0]  # the default slug is missing from this database
        return therapy


class TimelineForm(PageForm):
    therapy = TherapySlugField()
    jurisdiction = JurisdictionCodesField()
    kind = KnownValueField(
        values=DecisionKind.values, message="there is no kind of decision “{value}”. Known kinds: {known}."
    )
    # `from` and `to` are keywords: declared through the class namespace.
    vars()["from"] = BoundField(end=False)
    vars()["to"] = BoundField(end=True)
    q = SearchTextField(allow_blank=True)  # an empty search box: no words

    def __init__(
        self, params: Mapping[str, Any], *, therapies: list[Therapy], jurisdictions: Iterable[Jurisdiction]
    ) -> None:
        super().__init__(params, jurisdictions=jurisdictions)
        cast(TherapySlugField, self.fields["therapy"]).therapies = therapies

    def clean_to(self) -> dt.date | None:
        date_from, date_to = self.cleaned_data.get("from"), self.cleaned_data["to"]
        if date_from and date_to and date_from > date_to:
            self.add_error("from", "the start of the date range is after its end (to).")
        return date_to


def timeline_params_parse(params: Mapping[str, Any]) -> TimelineParams:
    """Check every parameter of /timeline/ (two queries: therapies and
    jurisdictions, which the form lists anyway)."""
    therapies = list(Therapy.objects.all())
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    data = TimelineForm(params, therapies=therapies, jurisdictions=jurisdictions).parse()
    return TimelineParams(
        therapy=data["therapy"],
        therapies=therapies,
        jurisdictions=jurisdictions,
        selected_codes=data["jurisdiction"],
        kind=data["kind"],
        date_from=data["from"],
        date_to=data["to"],
        q=data["q"],
    )


# --- /programmes/ -------------------------------------------------------------


@dataclass
class ProgrammeParams:
    jurisdictions: list[Jurisdiction]
    selected_codes: list[str]
    state: str


class ProgrammeForm(PageForm):
    jurisdiction = JurisdictionCodesField()
    state = KnownValueField(
        values=ProgrammeState.values, message="“{value}” is not a programme state; use one of {known}."
    )


def programme_params_parse(params: Mapping[str, Any]) -> ProgrammeParams:
    jurisdictions = list(Jurisdiction.objects.select_related("parent"))
    data = ProgrammeForm(params, jurisdictions=jurisdictions).parse()
    return ProgrammeParams(jurisdictions=jurisdictions, selected_codes=data["jurisdiction"], state=data["state"])
