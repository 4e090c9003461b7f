"""Text search over the record: decisions, access programmes, regulators and
sources. One matching function per kind of row, used by `/search/` and by the
`q` parameter of `/api/v1/decisions/` and `/api/v1/access-programmes/`, so
the page and the API always find the same rows.

On PostgreSQL it is full-text search (`django.contrib.postgres.search`): the
words are read as a web search (`websearch_to_tsquery`: every word must
appear, "quoted phrases", `or`, `-word`), stemmed in English, so "approvals"
finds "approval"; results are ranked. Decisions match on one
`to_tsvector('english', ...)` expression over columns of their own table,
which migration 0011 indexes (GIN).

Elsewhere (SQLite in development and in some test runs) it falls back to a
case-insensitive substring match across the same fields, reading the query
the same way (every word, "phrases", `or`, `-word`: `search_terms`), so the
same searches work, less cleverly (no stemming, no ranking, no stop words).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce

SEARCH_CONFIG = "english"
Q_MAX_LENGTH = 200  # every `q`: the timeline's, /search/ and the API's

# The fields each kind of row is searched in. Decisions' fields all live on
# their own table, so their search vector can be indexed (migration 0011).
DECISION_FIELDS = ("title", "summary", "control_instrument", "substance")
PROGRAMME_FIELDS = ("name", "summary", "eligibility", "prescriber_requirements", "capacity", "substance")
REGULATOR_FIELDS = ("code", "name")
SOURCE_FIELDS = ("title", "publisher", "note")


class SearchTextField(forms.CharField):
    """`q`, the words to search for, wherever it is read (the timeline's
    filter, `/search/`, the API's `q`): stripped, at most `Q_MAX_LENGTH`
    characters. Absent is `empty_value`; given but blank is a mistake (400),
    not a search for everything, unless `allow_blank` (the timeline, whose
    empty search box means "no words")."""

    default_error_messages = {
        "blank": "enter one or more words to search for.",
        "too_long": "the search text is longer than %(limit)d characters.",
    }

    def __init__(self, *, allow_blank: bool = False, **kwargs: Any) -> None:
        self.allow_blank = allow_blank
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text and len(text) > Q_MAX_LENGTH:
            raise ValidationError(
                self.error_messages["too_long"],
                code="max_length",
                params={"limit": Q_MAX_LENGTH, "show_value": len(text)},
            )
        return text

    def clean(self, value: Any) -> Any:
        if value is not None and not str(value).strip() and not self.allow_blank:
            raise ValidationError(self.error_messages["blank"], code="blank")
        return super().clean(value)


_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def uses_full_text() -> bool:
    return connection.vendor == "postgresql"


def search_terms(text: str) -> list[list[tuple[str, bool]]]:
    """The query read as a web search, for the fallback: alternatives
    separated by `or`, each a list of (term, wanted) that must all hold; a
    "quoted phrase" is one term, `-term` must not appear. The same reading
    as PostgreSQL's `websearch_to_tsquery`, without its stemming."""
    groups: list[list[tuple[str, bool]]] = [[]]
    for match in _TOKEN_RE.finditer(text):
        negated, phrase, word = match.groups()
        if word is not None and word.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        if word is not None:
            negated, phrase = ("-", word[1:]) if word.startswith("-") else ("", word)
        phrase = phrase.strip(' "')
        if phrase:
            groups[-1].append((phrase, not negated))
    return [group for group in groups if group]


def _vector(fields: tuple[str, ...]):
    from django.contrib.postgres.search import SearchVector

    return SearchVector(*fields, config=SEARCH_CONFIG)


def _query(text: str):
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")


def _match(queryset: QuerySet, text: str, fields: tuple[str, ...], *, rank: bool) -> QuerySet:
    """Rows of `queryset` matching `text` in `fields`; with `rank`, annotated
    with `search_rank` (0 on the fallback) for the page's ordering."""
    text = text.strip()
    if not text:
        return queryset
    if uses_full_text():
        from django.contrib.postgres.search import SearchRank

        vector, query = _vector(fields), _query(text)
        queryset = queryset.alias(search_document=vector).filter(search_document=query)
        if rank:
            queryset = queryset.annotate(search_rank=SearchRank(vector, query))
        return queryset
    condition = Q()
    for group in search_terms(text) or [[(text, True)]]:
        every = Q()
        for term, wanted in group:
            any_field = Q()
            for field in fields:
                any_field |= Q(**{f"{field}__icontains": term})
            every &= any_field if wanted else ~any_field
        condition |= every
    queryset = queryset.filter(condition)
    if rank:
        queryset = queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    return queryset


def decision_search(queryset: QuerySet, *, text: str, rank: bool = False) -> QuerySet:
    """Decisions of `queryset` whose title, summary, control instrument or
    substance match `text` (the API's `q` and the search page)."""
    return _match(queryset, text, DECISION_FIELDS, rank=rank)


def programme_search(queryset: QuerySet, *, text: str, rank: bool = False) -> QuerySet:
    """Access programmes whose name, summary, eligibility, prescriber
    requirements, capacity or substance match `text`."""
    return _match(queryset, text, PROGRAMME_FIELDS, rank=rank)


def regulator_search(queryset: QuerySet, *, text: str, rank: bool = False) -> QuerySet:
    return _match(queryset, text, REGULATOR_FIELDS, rank=rank)


def source_search(queryset: QuerySet, *, text: str, rank: bool = False) -> QuerySet:
    """Sources (of decisions or programmes) whose title, publisher or note match."""
    return _match(queryset, text, SOURCE_FIELDS, rank=rank)


def by_rank(*fields: str) -> list:
    """An ordering: best match first (ties, and the fallback, by `fields`)."""
    return [Coalesce(F("search_rank"), Value(0.0)).desc(), *fields]


# The index of migration 0011 (its expression is spelled there, frozen).
DECISION_INDEX_NAME = "regulatory_decision_search"
