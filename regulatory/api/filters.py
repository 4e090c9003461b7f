"""Query parameters of the API, the feeds and the CSV export.

Every parameter is validated before any query runs on the record, and a bad
value is a 400 naming the parameter (django-filter's DRF backend turns the
form errors into a ValidationError keyed by parameter name). The API also
rejects parameters it does not know, so that a typo such as `?jurisdictons=us`
is not silently answered with every decision; feeds and exports ignore them
(feed readers and spreadsheet links add tracking parameters of their own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from regulatory import search, selectors
from regulatory.models import (
    AccessProgramme,
    DecisionKind,
    DecisionState,
    Jurisdiction,
    ProgrammeKind,
    ProgrammeState,
    Therapy,
)
from regulatory.record_time import RecordedAsOfField

# Parameters handled by pagination and content negotiation, not by filters.
PAGINATION_PARAMS = frozenset({"page", "page_size"})
FORMAT_PARAM = "format"
MAX_LIST_ITEMS = 50


class ListWidget(forms.TextInput):
    """A list parameter given comma-separated (`?kind=approval,refusal`),
    repeated (`?kind=approval&kind=refusal`) or both; None when absent."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str] | None:
        values = (
            data.getlist(name) if hasattr(data, "getlist") else ([] if data.get(name) is None else [data.get(name)])
        )
        if not values:
            return None
        return [item.strip() for value in values for item in str(value).split(",") if item.strip()]


class _ListField(forms.Field):
    widget = ListWidget

    def __init__(self, *, noun: str, **kwargs: Any) -> None:
        self.noun = noun
        super().__init__(**kwargs)

    def _items(self, value: Sequence[str] | None) -> list[str]:
        items = list(dict.fromkeys(item.lower() for item in value or []))
        if len(items) > MAX_LIST_ITEMS:
            raise ValidationError(f"Give at most {MAX_LIST_ITEMS} values.", code="max_items")
        return items

    def _unknown(self, unknown: Iterable[str], known: Iterable[str]) -> ValidationError:
        # The values go in as params, never into the template: a client's '%'
        # must not be read as a format directive.
        return ValidationError(
            "Unknown %(noun)s %(names)s; known: %(known)s.",
            code="invalid_choice",
            params={
                "noun": self.noun,
                "names": ", ".join(repr(item) for item in unknown),
                "known": ", ".join(sorted(known)) or "none",
            },
        )


class CodeListField(_ListField):
    """Codes or slugs of reference rows (jurisdictions, therapies) → the rows,
    in the order given. One query: reference tables hold a few dozen rows, so
    they are read whole, which also lets the error list the known codes."""

    def __init__(self, *, queryset: QuerySet, to_field_name: str, **kwargs: Any) -> None:
        self.queryset = queryset
        self.to_field_name = to_field_name
        super().__init__(**kwargs)

    def clean(self, value: Sequence[str] | None) -> list:
        codes = self._items(value)
        if not codes:
            return []
        rows = {getattr(row, self.to_field_name): row for row in self.queryset.all()}
        unknown = [code for code in codes if code not in rows]
        if unknown:
            raise self._unknown(unknown, rows)
        return [rows[code] for code in codes]


class ChoiceListField(_ListField):
    def __init__(self, *, valid: Iterable[str], **kwargs: Any) -> None:
        self.valid = list(valid)
        super().__init__(**kwargs)

    def clean(self, value: Sequence[str] | None) -> list[str]:
        items = self._items(value)
        unknown = [item for item in items if item not in self.valid]
        if unknown:
            raise self._unknown(unknown, self.valid)
        return items


class CodeListFilter(django_filters.Filter):
    field_class = CodeListField

    def filter(self, qs: QuerySet, value: list) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class ChoiceListFilter(django_filters.Filter):
    field_class = ChoiceListField

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC: PostgreSQL refuses offsets
    beyond ±15:59, which ISO 8601 allows (a 500 found by schemathesis)."""

    def clean(self, value: Any) -> dt.datetime | None:
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError("Enter a date-time between the years 1 and 9999.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class SearchTextFilter(django_filters.CharFilter):
    """`q`: rows matching the words, by the matching function of the search
    page (`search_function`), so the page and the API find the same rows."""

    field_class = search.SearchTextField

    def __init__(self, *, search_function: Any, **kwargs: Any) -> None:
        self.search_function = search_function
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        text = (value or "").strip()
        return self.search_function(qs, text=text) if text else qs


_Q_ERRORS = {
    "blank": "Enter words to search for, or leave out `q`.",
    "too_long": "Ensure this value has at most %(limit)d characters (it has %(show_value)d).",
}


def search_filter(search_function: Any, description: str, *, allow_blank: bool = False) -> SearchTextFilter:
    """`q` with its schema: a non-blank string of at most Q_MAX_LENGTH characters."""
    schema = {"type": "string", "minLength": 1, "maxLength": search.Q_MAX_LENGTH, "pattern": r"\S"}
    return extend_schema_field({**schema, "description": description})(
        SearchTextFilter(
            search_function=search_function,
            allow_blank=allow_blank,
            help_text=description,
            error_messages=_Q_ERRORS,
        )
    )


_Q_HELP = (
    "Words to search for, as on the search page (/search/): on PostgreSQL a full-text web search "
    '(every word, "a phrase", `or`, `-word`; English stemming), elsewhere each term as a substring, read the same way. '
    "At most 200 characters; given but blank is a 400."
)


def _list_schema(description: str, enum: Sequence[str] | None = None) -> dict:
    items: dict[str, Any] = {"type": "string"}
    if enum is not None:
        items["enum"] = list(enum)
    return {"type": "array", "items": items, "description": description}


class StrictForm(forms.Form):
    """Rejects query parameters that no filter, pagination or format knows."""

    extra_params: frozenset[str] = PAGINATION_PARAMS | {FORMAT_PARAM}

    def _post_clean(self) -> None:
        # Django's hook after clean() (ModelForm's model validation uses it); django-stubs omits it.
        super()._post_clean()  # type: ignore[misc]
        known = set(self.fields) | self.extra_params
        for name in sorted(set(self.data) - known):
            # Within full_clean, `errors` is the ErrorDict being filled (add_error refuses unknown names).
            self.errors[name] = self.error_class(
                [
                    ValidationError(
                        f"Unknown query parameter; known: {', '.join(sorted(known))}.", code="unknown_parameter"
                    )
                ]
            )


def jurisdiction_filter(field_name: str = "jurisdiction") -> CodeListFilter:
    return extend_schema_field(
        _list_schema("Jurisdiction codes (e.g. `us,au`), comma-separated or repeated. An unknown code is a 400.")
    )(
        CodeListFilter(
            field_name=field_name,
            queryset=Jurisdiction.objects.all(),
            to_field_name="code",
            noun="jurisdiction code",
        )
    )


class DecisionFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/decisions/` and `/exports/decisions.csv`."""

    jurisdiction = jurisdiction_filter()
    therapy = extend_schema_field(
        _list_schema("Therapy slugs (e.g. `mdma-ptsd`), comma-separated or repeated: decisions concerning any of them.")
    )(
        CodeListFilter(
            field_name="therapies",
            method="filter_therapy",
            queryset=Therapy.objects.all(),
            to_field_name="slug",
            noun="therapy slug",
        )
    )
    kind = extend_schema_field(_list_schema("Kinds of decision, comma-separated or repeated.", DecisionKind.values))(
        ChoiceListFilter(field_name="kind", valid=DecisionKind.values, noun="kind")
    )
    announced_after = django_filters.DateFilter(
        field_name="announced_on",
        lookup_expr="gte",
        help_text="Announced on or after this date (YYYY-MM-DD). A month- or year-precision date counts as its first day.",
    )
    announced_before = django_filters.DateFilter(
        field_name="announced_on",
        lookup_expr="lte",
        help_text="Announced on or before this date (YYYY-MM-DD).",
    )
    recorded_since = UtcDateTimeFilter(
        method="filter_recorded_since",
        help_text="For clients that sync: decisions with a change (publication, amendment, correction, "
        "retraction) recorded at or after this ISO 8601 date-time, e.g. `2024-08-09T00:00:00Z`.",
        error_messages={
            "invalid": "Enter an ISO 8601 date-time such as 2024-08-09T00:00:00Z (URL-encode a '+' in the offset)."
        },
    )
    q = search_filter(
        search.decision_search,
        _Q_HELP + " Decisions match in the title, summary, control instrument or substance.",
    )
    state = extend_schema_field(
        _list_schema("Lifecycle states. Drafts are only ever listed for editors.", DecisionState.values)
    )(ChoiceListFilter(field_name="state", valid=DecisionState.values, noun="state"))
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering",
        choices=[
            (value, value)
            for value in (
                "announced_on",
                "-announced_on",
                "effective_on",
                "-effective_on",
                "recorded_at",
                "-recorded_at",
                "id",
                "-id",
            )
        ],
        help_text="Sort order; the default is `-announced_on`. Ties are broken by id, so pages are stable.",
    )

    class Meta:
        form = StrictForm

    def filter_therapy(self, qs: QuerySet, name: str, value: list[Therapy]) -> QuerySet:
        if not value:
            return qs
        return selectors.decision_list_for_therapies(qs, therapy_ids=[t.pk for t in value])

    def filter_recorded_since(self, qs: QuerySet, name: str, value: dt.datetime) -> QuerySet:
        return selectors.decision_list_recorded_since(qs, since=value)

    def filter_ordering(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        field = value.lstrip("-")
        # Missing dates (drafts' recorded_at, no effective date) sort last
        # either way, the same on PostgreSQL and SQLite.
        order = F(field).desc(nulls_last=True) if value.startswith("-") else F(field).asc(nulls_last=True)
        return qs.order_by(order, "-id" if value.startswith("-") else "id")


class LenientForm(forms.Form):
    """Feeds and exports: unknown parameters are ignored, bad values are not."""


class DecisionFeedFilter(DecisionFilter):
    # Feed readers and spreadsheet links keep an empty `q=` from a form: no search.
    q = SearchTextFilter(search_function=search.decision_search, allow_blank=True)

    class Meta:
        form = LenientForm


class AccessProgrammeFilter(django_filters.FilterSet):
    jurisdiction = jurisdiction_filter()
    therapy = extend_schema_field(_list_schema("Therapy slugs, comma-separated or repeated."))(
        CodeListFilter(
            field_name="therapies",
            method="filter_therapy",
            queryset=Therapy.objects.all(),
            to_field_name="slug",
            noun="therapy slug",
        )
    )
    kind = extend_schema_field(_list_schema("Kinds of programme.", ProgrammeKind.values))(
        ChoiceListFilter(field_name="kind", valid=ProgrammeKind.values, noun="kind")
    )
    state = extend_schema_field(_list_schema("Programme states.", ProgrammeState.values))(
        ChoiceListFilter(field_name="state", valid=ProgrammeState.values, noun="state")
    )
    q = search_filter(
        search.programme_search,
        _Q_HELP
        + " Programmes match in the name, summary, eligibility, prescriber requirements, capacity or substance.",
    )

    class Meta:
        model = AccessProgramme
        fields: list[str] = []
        form = StrictForm

    def filter_therapy(self, qs: QuerySet, name: str, value: list[Therapy]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(therapies__in=value).distinct()


class StrictPlainFilter(django_filters.FilterSet):
    """For list endpoints with no filters: only pagination parameters."""

    class Meta:
        form = StrictForm


class ScopeForm(forms.Form):
    """`jurisdiction` and `therapy` of the status endpoint and the iCalendar feed."""

    jurisdiction = CodeListField(
        queryset=Jurisdiction.objects.all(), to_field_name="code", noun="jurisdiction code", required=False
    )
    therapy = CodeListField(queryset=Therapy.objects.all(), to_field_name="slug", noun="therapy slug", required=False)


class StatusQueryForm(ScopeForm, StrictForm):
    as_of = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "Enter a date as YYYY-MM-DD."}
    )
    recorded_as_of = RecordedAsOfField()
    extra_params = frozenset({FORMAT_PARAM})


class UpcomingQueryForm(ScopeForm, LenientForm):
    pass
