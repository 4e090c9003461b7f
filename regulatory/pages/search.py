"""/search/?q=: decisions, access programmes, regulators and sources matching
the words (`regulatory.search`, the same matching as the API's `q`), with
filters.

Each filter applies to the kinds of result it makes sense for and leaves out
the others: `therapy`, `kind`, `grade`, `verified` and the date range say
nothing of a regulator, so with any of them set no regulators are listed;
`kind` is a kind of decision or of programme (or, "other", of both) and
leaves out the results it is no kind of.
The date range is a decision's announcement, a programme's opening, a
source's publication.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet

from regulatory import search
from regulatory.models import (
    PUBLIC_STATES,
    AccessProgramme,
    Decision,
    DecisionKind,
    Jurisdiction,
    ProgrammeKind,
    ProgrammeSource,
    Regulator,
    Source,
    SourceGrade,
    Therapy,
)
from regulatory.pages.parameters import (
    BoundField,
    JurisdictionCodesField,
    KnownValueField,
    PageForm,
    _EveryValue,
    codes_param_parse,
)
from regulatory.selectors import access_programme_list, decision_list_for_therapies, decision_list_public

RESULT_LIMIT = 50  # per kind of result; the page says when there are more
RESULT_TYPES = ("decisions", "programmes", "regulators", "sources")
VERIFIED_VALUES = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


class CodeChoicesField(forms.Field):
    """Codes or slugs, comma-separated or repeated, each one of `known`."""

    widget = _EveryValue

    def __init__(self, *, noun: str, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.noun = noun
        self.known: list[str] = []

    def to_python(self, value: Any) -> list[str]:
        codes = codes_param_parse(value or [])
        unknown = [c for c in codes if c not in self.known]
        if unknown:
            raise ValidationError(
                f"unknown {self.noun}{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(self.known)) or 'none'}."
            )
        return codes


class SearchForm(PageForm):
    q = search.SearchTextField(empty_value=None)  # absent: the empty search form
    type = KnownValueField(values=RESULT_TYPES, message="“{value}” is not a kind of result; use one of {known}.")
    jurisdiction = JurisdictionCodesField()
    therapy = CodeChoicesField(noun="therapy")
    kind = KnownValueField(
        values=[*DecisionKind.values, *ProgrammeKind.values],
        message="there is no kind of decision or programme “{value}”. Known kinds: {known}.",
    )
    regulator = CodeChoicesField(noun="regulator")
    grade = KnownValueField(values=SourceGrade.values, message="“{value}” is not a source grade; use one of {known}.")
    verified = KnownValueField(values=list(VERIFIED_VALUES), message="“{value}” is not yes or no.")
    vars()["from"] = BoundField(end=False)
    vars()["to"] = BoundField(end=True)

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        jurisdictions: list[Jurisdiction],
        therapies: list[Therapy],
        regulators: list[Regulator],
    ) -> None:
        super().__init__(params, jurisdictions=jurisdictions)
        for name, known in (("therapy", [t.slug for t in therapies]), ("regulator", [r.code for r in regulators])):
            field = self.fields[name]
            assert isinstance(field, CodeChoicesField)
            field.known = known

    def clean_to(self) -> dt.date | None:
        date_from, date_to = self.cleaned_data.get("from"), self.cleaned_data["to"]
        if date_from and date_to and date_from > date_to:
            self.add_error("from", "the start of the date range is after its end (to).")
        return date_to


@dataclass
class SearchParams:
    q: str | None  # None: no search asked for (the empty form)
    jurisdictions: list[Jurisdiction]
    therapies: list[Therapy]
    regulators: list[Regulator]
    type: str = ""
    jurisdiction_codes: list[str] = field(default_factory=list)
    therapy_slugs: list[str] = field(default_factory=list)
    kind: str = ""
    regulator_codes: list[str] = field(default_factory=list)
    grade: str = ""
    verified: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def filtering(self) -> bool:
        return bool(
            self.type
            or self.jurisdiction_codes
            or self.therapy_slugs
            or self.kind
            or self.regulator_codes
            or self.grade
            or self.verified is not None
            or self.date_from
            or self.date_to
        )

    def wants(self, result_type: str) -> bool:
        """Whether this kind of result is searched at all under the filters."""
        if self.type and self.type != result_type:
            return False
        if result_type == "regulators":
            return not (
                self.therapy_slugs
                or self.kind
                or self.grade
                or self.verified is not None
                or self.date_from
                or self.date_to
            )
        if result_type == "decisions" and self.kind and self.kind not in DecisionKind.values:
            return False
        if result_type == "programmes" and self.kind and self.kind not in ProgrammeKind.values:
            return False
        return True

    @property
    def kind_choices(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [("Decisions", list(DecisionKind.choices)), ("Programmes", list(ProgrammeKind.choices))]

    @property
    def grade_choices(self) -> list[tuple[str, str]]:
        return list(SourceGrade.choices)


def search_params_parse(params: Mapping[str, Any]) -> SearchParams:
    """Check every parameter of /search/ (three queries: jurisdictions,
    therapies and regulators, which the form lists anyway)."""
    jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    therapies = list(Therapy.objects.order_by("position", "slug"))
    regulators = list(Regulator.objects.order_by("name"))
    data = SearchForm(params, jurisdictions=jurisdictions, therapies=therapies, regulators=regulators).parse()
    return SearchParams(
        q=data["q"],
        jurisdictions=jurisdictions,
        therapies=therapies,
        regulators=regulators,
        type=data["type"],
        jurisdiction_codes=data["jurisdiction"],
        therapy_slugs=data["therapy"],
        kind=data["kind"],
        regulator_codes=data["regulator"],
        grade=data["grade"],
        verified=VERIFIED_VALUES[data["verified"]] if data["verified"] else None,
        date_from=data["from"],
        date_to=data["to"],
    )


@dataclass
class ResultList:
    items: list
    more: bool  # more than RESULT_LIMIT matched

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class SearchResults:
    params: SearchParams
    decisions: ResultList | None  # None: not searched under these filters
    programmes: ResultList | None
    regulators: ResultList | None
    sources: ResultList | None
    full_text: bool

    @property
    def total(self) -> int:
        return sum(len(r) for r in (self.decisions, self.programmes, self.regulators, self.sources) if r)

    @property
    def sections(self) -> list[tuple[str, str, ResultList]]:
        names = {"decisions": "Decisions", "programmes": "Access programmes", "regulators": "Regulators"}
        names["sources"] = "Sources"
        return [(key, names[key], getattr(self, key)) for key in RESULT_TYPES if getattr(self, key) is not None]


def _limited(queryset: QuerySet) -> ResultList:
    rows = list(queryset[: RESULT_LIMIT + 1])
    return ResultList(rows[:RESULT_LIMIT], len(rows) > RESULT_LIMIT)


def _therapy_ids(params: SearchParams) -> list[int]:
    return [t.pk for t in params.therapies if t.slug in params.therapy_slugs]


def _decisions(params: SearchParams, text: str) -> QuerySet[Decision]:
    qs = search.decision_search(decision_list_public(), text=text, rank=True)
    if params.jurisdiction_codes:
        qs = qs.filter(jurisdiction__code__in=params.jurisdiction_codes)
    if params.therapy_slugs:
        qs = decision_list_for_therapies(qs, therapy_ids=_therapy_ids(params))
    if params.kind:
        qs = qs.filter(kind=params.kind)
    if params.regulator_codes:
        qs = qs.filter(regulator__code__in=params.regulator_codes)
    if params.grade:
        qs = qs.filter(Exists(Source.objects.filter(decision=OuterRef("pk"), grade=params.grade)))
    if params.verified is not None:
        qs = qs.filter(verified=params.verified)
    if params.date_from:
        qs = qs.filter(announced_on__gte=params.date_from)
    if params.date_to:
        qs = qs.filter(announced_on__lte=params.date_to)
    return qs.order_by(*search.by_rank("-announced_on", "-id"))


def _programmes(params: SearchParams, text: str) -> QuerySet[AccessProgramme]:
    qs = search.programme_search(access_programme_list(), text=text, rank=True)
    if params.jurisdiction_codes:
        qs = qs.filter(jurisdiction__code__in=params.jurisdiction_codes)
    if params.therapy_slugs:
        through = AccessProgramme.therapies.through
        qs = qs.filter(
            Exists(through.objects.filter(accessprogramme_id=OuterRef("pk"), therapy_id__in=_therapy_ids(params)))
        )
    if params.kind:
        qs = qs.filter(kind=params.kind)
    if params.regulator_codes:
        qs = qs.filter(regulator__code__in=params.regulator_codes)
    if params.grade:
        qs = qs.filter(Exists(ProgrammeSource.objects.filter(programme=OuterRef("pk"), grade=params.grade)))
    if params.verified is not None:
        qs = qs.filter(verified=params.verified)
    if params.date_from:
        qs = qs.filter(opened_on__gte=params.date_from)
    if params.date_to:
        qs = qs.filter(opened_on__lte=params.date_to)
    return qs.order_by(*search.by_rank("jurisdiction__position", "name", "id"))


def _regulators(params: SearchParams, text: str) -> QuerySet[Regulator]:
    qs = search.regulator_search(Regulator.objects.select_related("jurisdiction"), text=text, rank=True)
    if params.jurisdiction_codes:
        qs = qs.filter(jurisdiction__code__in=params.jurisdiction_codes)
    if params.regulator_codes:
        qs = qs.filter(code__in=params.regulator_codes)
    return qs.order_by(*search.by_rank("jurisdiction__position", "name"))


def _sources(params: SearchParams, text: str, model: type[Source] | type[ProgrammeSource], owner: str) -> QuerySet:
    """Sources of public decisions (`owner` "decision") or of programmes ("programme")."""
    qs = search.source_search(model._default_manager.select_related(f"{owner}__jurisdiction"), text=text, rank=True)
    if owner == "decision":
        qs = qs.filter(decision__state__in=PUBLIC_STATES)
    if params.jurisdiction_codes:
        qs = qs.filter(**{f"{owner}__jurisdiction__code__in": params.jurisdiction_codes})
    if params.therapy_slugs:
        owner_model = Decision if owner == "decision" else AccessProgramme
        through = owner_model.therapies.through
        column = "decision_id" if owner == "decision" else "accessprogramme_id"
        therapies = through.objects.filter(**{column: OuterRef(f"{owner}_id"), "therapy_id__in": _therapy_ids(params)})
        qs = qs.filter(Exists(therapies))
    if params.kind:
        qs = qs.filter(**{f"{owner}__kind": params.kind})
    if params.regulator_codes:
        qs = qs.filter(**{f"{owner}__regulator__code__in": params.regulator_codes})
    if params.grade:
        qs = qs.filter(grade=params.grade)
    if params.verified is not None:
        qs = qs.filter(**{f"{owner}__verified": params.verified})
    if params.date_from:
        qs = qs.filter(published_on__gte=params.date_from)
    if params.date_to:
        qs = qs.filter(published_on__lte=params.date_to)
    return qs.order_by(*search.by_rank("-published_on", "id"))


def search_build(*, params: SearchParams) -> SearchResults | None:
    """The results for `params.q`, None for the empty form. A fixed number
    of queries whatever the size of the data: decisions (+ therapies,
    sources), programmes (+ therapies, sources), regulators, decisions'
    sources and programmes' sources; fewer when filters leave kinds out."""
    text = params.q
    if text is None:
        return None
    decisions = programmes = regulators = sources = None
    if params.wants("decisions"):
        decisions = _limited(_decisions(params, text))
    if params.wants("programmes"):
        programmes = _limited(_programmes(params, text))
    if params.wants("regulators"):
        regulators = _limited(_regulators(params, text))
    if params.wants("sources"):
        found: list = []
        more = False
        for model, owner in ((Source, "decision"), (ProgrammeSource, "programme")):
            # `kind` is the owner's: "other" is a kind of both.
            if params.kind and params.kind not in (
                DecisionKind.values if owner == "decision" else ProgrammeKind.values
            ):
                continue
            part = _limited(_sources(params, text, model, owner))
            found += part.items
            more = more or part.more
        found.sort(key=lambda s: (-(s.search_rank or 0.0), -(s.published_on or dt.date.min).toordinal()))
        sources = ResultList(found[:RESULT_LIMIT], more or len(found) > RESULT_LIMIT)
    return SearchResults(params, decisions, programmes, regulators, sources, full_text=search.uses_full_text())
