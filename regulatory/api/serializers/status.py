"""The status endpoint's cells in three dimensions, and the error body."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from regulatory import selectors
from regulatory.api.serializers.fields import api_url
from regulatory.models import (
    ApprovalStage,
    Control,
    Precision,
    ProgrammeKind,
    SourceGrade,
)


class ControlInForceSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=Control.choices, read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # a declared field, not Field.label
    instrument = serializers.CharField(read_only=True)
    since = serializers.DateField(read_only=True, allow_null=True, help_text="Null when the start date is unknown.")
    since_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    since_display = serializers.CharField(read_only=True, help_text="E.g. 'in force before 27 Oct 1970'.")
    decision = serializers.IntegerField(
        source="decision_id",
        read_only=True,
        allow_null=True,
        help_text="The decision that set it, or null for a baseline.",
    )
    baseline = serializers.IntegerField(
        source="baseline_id",
        read_only=True,
        allow_null=True,
        help_text="The baseline (control in force before the first recorded event).",
    )


class StageInForceSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=ApprovalStage.choices, read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # a declared field, not Field.label
    since = serializers.DateField(read_only=True)
    since_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    decision = serializers.IntegerField(source="decision_id", read_only=True)


ROUTE_STATES = [
    ("open", "open"),
    ("closed", "closed"),
    ("closed_date_unknown", "closed, date unknown"),
    ("unknown_after", "unknown after known_until"),
    ("planned", "planned"),
]


class RouteSerializer(serializers.Serializer):
    programme = serializers.CharField(source="slug", read_only=True, help_text="The access programme that opens it.")
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=ProgrammeKind.choices, read_only=True)
    state = serializers.ChoiceField(choices=ROUTE_STATES, read_only=True, help_text="On `as_of`.")
    label = serializers.CharField(  # type: ignore[assignment]  # a declared field, not Field.label
        read_only=True, help_text="As in the headline: 'EA protocol (closed)'."
    )
    capped = serializers.BooleanField(read_only=True)
    scale = serializers.CharField(read_only=True)
    opened_on = serializers.DateField(read_only=True, allow_null=True)
    opened_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    closed_on = serializers.DateField(read_only=True, allow_null=True)
    closed_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    known_until = serializers.DateField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, route: selectors.Route) -> str:
        return api_url("api-access-programme-detail", route.slug)


class ProvenanceSerializer(serializers.Serializer):
    best_grade = serializers.ChoiceField(
        choices=SourceGrade.choices,
        read_only=True,
        allow_null=True,
        help_text="The best grade of source behind the cell's facts.",
    )
    best_is_copy = serializers.BooleanField(
        read_only=True, help_text="The best sources are copies held on another host."
    )
    sources = serializers.IntegerField(read_only=True, help_text="Number of sources behind the cell.")
    unverified = serializers.BooleanField(read_only=True, help_text="A fact behind the cell could not be confirmed.")


CELL_STATES = [("recorded", "recorded"), ("no_decision", "no decision recorded"), ("not_researched", "not researched")]


class StatusRowSerializer(serializers.Serializer):
    """One (jurisdiction, therapy) cell on `as_of`, in three dimensions."""

    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    jurisdiction_name = serializers.CharField(source="jurisdiction.name", read_only=True)
    therapy = serializers.CharField(source="therapy.slug", read_only=True)
    therapy_name = serializers.CharField(source="therapy.name", read_only=True)
    status = serializers.CharField(
        source="cell.headline",
        read_only=True,
        help_text="The headline: approval stage · control · access routes "
        "(e.g. 'Investigational · Schedule I · EA protocol (closed)'), or "
        "'No decision recorded' / 'Not researched'.",
    )
    tone = serializers.ChoiceField(
        source="cell.tone",
        choices=[(t, t) for t in selectors.TONE_ORDER],
        read_only=True,
        help_text="The headline's colour class; first match of: " + ", ".join(selectors.TONE_ORDER) + ".",
    )
    state = serializers.ChoiceField(source="cell.state", choices=CELL_STATES, read_only=True)
    control = ControlInForceSerializer(source="cell.control", read_only=True, allow_null=True)
    approval_stage = StageInForceSerializer(source="cell.approval_stage", read_only=True, allow_null=True)
    access = RouteSerializer(
        source="cell.access",
        many=True,
        read_only=True,
        help_text="Access programmes for the therapy or its substance opened by `as_of`.",
    )
    certain = serializers.BooleanField(
        source="cell.certain",
        read_only=True,
        help_text="False when `as_of` falls inside a date known only to the "
        "month or year (or before a baseline of unknown start).",
    )
    uncertain_because = serializers.ListField(
        source="cell.uncertain_because", child=serializers.CharField(), read_only=True
    )
    provenance = ProvenanceSerializer(source="cell.provenance", read_only=True)
    reviewed_to = serializers.DateField(
        source="cell.reviewed_to",
        read_only=True,
        allow_null=True,
        help_text="The jurisdiction was reviewed for events up to this date.",
    )
    stale = serializers.BooleanField(
        source="cell.stale",
        read_only=True,
        help_text="The jurisdiction was not reviewed in the 90 days before `as_of`.",
    )
    since = serializers.DateField(
        source="cell.since", allow_null=True, read_only=True, help_text="When the latest dimension took its value."
    )
    decision = serializers.IntegerField(
        source="cell.decision_id",
        allow_null=True,
        read_only=True,
        help_text="Id of the decision that set the latest dimension.",
    )
    decision_url = serializers.SerializerMethodField(help_text="That decision's public page.")

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_decision_url(self, row: selectors.StatusRow) -> str | None:
        decision_id = row.cell.decision_id
        return selectors.decision_page_url(decision_id) if decision_id else None


class StatusResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField(read_only=True)
    results = StatusRowSerializer(many=True, read_only=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
