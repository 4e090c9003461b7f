"""The status endpoints of the analysts' tools: what changed between two
dates (`/api/v1/status/changes/`) and the history of one cell
(`/api/v1/status/history/`). Thin views over `regulatory.compare` and
`regulatory.status_history`; both are conditional (`cached_read`) and run a
fixed number of queries whatever the size of the data."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory import compare, record_time, status_history
from regulatory.api import filters
from regulatory.api.schema import FIELD_ERRORS, NOT_MODIFIED
from regulatory.api.serializers import api_url
from regulatory.api.views import ReadApi
from regulatory.httpcache import cached_read
from regulatory.models import EARLIEST_DATE, LATEST_DATE, Jurisdiction, Therapy

_RANGE = "Enter a date from 1900-01-01 to 2200-12-31."


def _date_field(*, required: bool) -> forms.DateField:
    return forms.DateField(
        required=required,
        input_formats=["%Y-%m-%d"],
        validators=[MinValueValidator(EARLIEST_DATE, message=_RANGE), MaxValueValidator(LATEST_DATE, message=_RANGE)],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD.", "required": "This parameter is required."},
    )


def _form_errors(form: forms.Form) -> ValidationError:
    return ValidationError({name: [str(m) for m in messages] for name, messages in form.errors.items()})


RECORDED_AS_OF_PARAM = OpenApiParameter(
    "recorded_as_of",
    OpenApiTypes.STR,
    description="Record time: the answer as the tracker gave it at this moment, `YYYY-MM-DD` (the end of that "
    "day) or `YYYY-MM-DDTHH:MM` (site time), rebuilt from the Change history, so a correction recorded later "
    "does not alter it. A moment in the future or before the first record is a 400.",
)
SCOPE_PARAMS = [
    OpenApiParameter(
        "jurisdiction",
        {"type": "array", "items": {"type": "string"}},
        explode=False,
        description="Jurisdiction codes, comma-separated (e.g. `us,au`).",
    ),
    OpenApiParameter(
        "therapy",
        {"type": "array", "items": {"type": "string"}},
        explode=False,
        description="Therapy slugs, comma-separated (e.g. `mdma-ptsd`).",
    ),
]


# --- /api/v1/status/changes/ --------------------------------------------------------


class ChangesQueryForm(filters.ScopeForm, filters.StrictForm):
    vars()["from"] = _date_field(required=True)
    vars()["to"] = _date_field(required=True)
    recorded_as_of = record_time.RecordedAsOfField()
    extra_params = frozenset({filters.FORMAT_PARAM})

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            self.add_error("from", "`from` is after `to`.")
        return data


class SetBySerializer(serializers.Serializer):
    decision = serializers.IntegerField(required=False, help_text="The decision that set the new value.")
    baseline = serializers.IntegerField(required=False, help_text="The baseline in force (control before events).")
    programme = serializers.CharField(required=False, help_text="The access programme whose route changed.")


class DimensionChangeSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=[(d, d) for d in compare.DIMENSIONS])
    before = serializers.JSONField(
        help_text="The value on `from`: control {value, label, instrument, since, decision, baseline}, "
        "approval_stage {value, label, since, decision}, access [{programme, kind, state, capped, label}], "
        "headline (text); null when there was none."
    )
    after = serializers.JSONField(help_text="The value on `to`, in the same shape.")
    before_text = serializers.CharField()
    after_text = serializers.CharField()
    set_by = SetBySerializer(many=True, help_text="What set the value on `to` (empty: it was removed).")


class ChangedCellSerializer(serializers.Serializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code")
    jurisdiction_name = serializers.CharField(source="jurisdiction.name")
    therapy = serializers.CharField(source="therapy.slug")
    therapy_name = serializers.CharField(source="therapy.name")
    status_before = serializers.CharField(source="before.headline")
    status_after = serializers.CharField(source="after.headline")
    tone_before = serializers.CharField(source="before.tone")
    tone_after = serializers.CharField(source="after.tone")
    changes = DimensionChangeSerializer(many=True, help_text="Each dimension that changed, old → new.")


class DecisionEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    jurisdiction = serializers.CharField()
    therapies = serializers.ListField(child=serializers.CharField())
    announced_on = serializers.DateField(allow_null=True)
    announced_precision = serializers.CharField()
    effective_on = serializers.DateField(allow_null=True)
    effective_precision = serializers.CharField()
    sets = serializers.CharField(help_text="The control and approval stage it sets, in words (may be empty).")
    url = serializers.SerializerMethodField()

    def get_url(self, event: compare.DecisionEvent) -> str:
        return api_url("api-decision-detail", event.id)


class ProgrammeEventSerializer(serializers.Serializer):
    programme = serializers.CharField(source="slug")
    name = serializers.CharField()
    kind = serializers.CharField()
    jurisdiction = serializers.CharField()
    event = serializers.ChoiceField(
        choices=[("opened", "opened"), ("closed", "closed"), ("unknown_after", "state unknown after")]
    )
    on = serializers.DateField()
    precision = serializers.CharField()


class ChangesResponseSerializer(serializers.Serializer):
    # `from` and `to` echo the parameters; Python keeps them as keywords.
    vars()["from"] = serializers.DateField(source="date_from", help_text="The earlier date.")
    vars()["to"] = serializers.DateField(source="date_to", help_text="The later date.")
    recorded_as_of = serializers.DateTimeField(allow_null=True, help_text="The record time, when asked for.")
    changed = ChangedCellSerializer(many=True, help_text="Every cell that differs between the two dates.")
    decisions = DecisionEventSerializer(many=True, help_text="Decisions effective or announced in (from, to].")
    programme_changes = ProgrammeEventSerializer(many=True, help_text="Programmes opened or closed in (from, to].")


@cached_read()
class StatusChangesApi(ReadApi):
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="What changed between two dates",
        description="Every (jurisdiction, therapy) cell whose status differs between `from` and `to`, each "
        "dimension that changed (control, approval_stage, access, headline) with its value before and after and "
        "what set the new one, then the decisions effective or announced in (from, to] and the access "
        "programmes that opened, closed or passed the last date they are known open to in it. The same "
        "content as the page /compare/. Response keys `from` and `to` echo the parameters.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="The earlier date (YYYY-MM-DD)."),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="The later date (YYYY-MM-DD)."),
            RECORDED_AS_OF_PARAM,
            *SCOPE_PARAMS,
        ],
        responses={200: ChangesResponseSerializer, 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    def get(self, request: Request) -> Response:
        form = ChangesQueryForm(request.query_params)
        if not form.is_valid():
            raise _form_errors(form)
        data = form.cleaned_data
        recorded = data["recorded_as_of"]
        result = compare.compare_build(
            date_from=data["from"],
            date_to=data["to"],
            jurisdictions=data["jurisdiction"] or None,
            therapies=data["therapy"] or None,
            recorded=recorded,
        )
        payload = {
            "date_from": result.date_from,
            "date_to": result.date_to,
            "recorded_as_of": recorded.at if recorded else None,
            "changed": result.changed,
            "decisions": result.decisions,
            "programme_changes": result.programme_events,
        }
        return Response(ChangesResponseSerializer(payload).data)


# --- /api/v1/status/history/ --------------------------------------------------------


class HistoryQueryForm(filters.StrictForm):
    jurisdiction = forms.CharField(error_messages={"required": "This parameter is required."})
    therapy = forms.CharField(error_messages={"required": "This parameter is required."})
    extra_params = frozenset({filters.FORMAT_PARAM})

    def clean_jurisdiction(self) -> Jurisdiction:
        code = self.cleaned_data["jurisdiction"].strip().lower()
        rows = {j.code: j for j in Jurisdiction.objects.all()}
        if code not in rows:
            raise forms.ValidationError(f"Unknown jurisdiction code {code[:40]!r}; known: {', '.join(sorted(rows))}.")
        return rows[code]

    def clean_therapy(self) -> Therapy:
        slug = self.cleaned_data["therapy"].strip().lower()
        rows = {t.slug: t for t in Therapy.objects.all()}
        if slug not in rows:
            raise forms.ValidationError(f"Unknown therapy slug {slug[:40]!r}; known: {', '.join(sorted(rows))}.")
        return rows[slug]


class IntervalSerializer(serializers.Serializer):
    vars()["from"] = serializers.DateField(
        source="start", allow_null=True, help_text="Opened on; null when in force since a date not known."
    )
    from_precision = serializers.CharField(source="start_precision")
    vars()["to"] = serializers.DateField(
        source="end", allow_null=True, help_text="The date the next interval opened; null: in force now."
    )
    value = serializers.JSONField(
        help_text="control {value, label, instrument}; approval_stage {value, label}; access: the routes "
        "[{programme, kind, state, capped, label}]."
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a serializer field named `label`, not Field.label
    opened_by = serializers.JSONField(
        help_text="What opened it: {decision, title, kind}, {baseline} or {programmes: [slug, …]}."
    )


class HistoryResponseSerializer(serializers.Serializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code")
    therapy = serializers.CharField(source="therapy.slug")
    control = IntervalSerializer(many=True)
    approval_stage = IntervalSerializer(many=True)
    access = IntervalSerializer(many=True)


@cached_read()
class StatusHistoryApi(ReadApi):
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="The history of one cell, by dimension",
        description="The intervals of each dimension of one (jurisdiction, therapy) cell in order: `control` "
        "(from the baseline, then each decision with a control), `approval_stage` and `access` (the routes "
        "between programme dates). Each interval has `from` (with its precision), `to` (the date the next "
        "opened; null while in force) and `opened_by`: the decision, baseline or programme that opened it.",
        parameters=[
            OpenApiParameter("jurisdiction", OpenApiTypes.STR, required=True, description="A jurisdiction code."),
            OpenApiParameter("therapy", OpenApiTypes.STR, required=True, description="A therapy slug."),
        ],
        responses={200: HistoryResponseSerializer, 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    def get(self, request: Request) -> Response:
        form = HistoryQueryForm(request.query_params)
        if not form.is_valid():
            raise _form_errors(form)
        history = status_history.cell_history(
            jurisdiction=form.cleaned_data["jurisdiction"], therapy=form.cleaned_data["therapy"]
        )
        return Response(HistoryResponseSerializer(history).data)
