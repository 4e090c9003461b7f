"""Sources and the reference data: regulators, jurisdictions, therapies, access programmes."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from regulatory.api.serializers.fields import CodeListField, RecordDateField, _precision, api_url
from regulatory.models import (
    AccessProgramme,
    Jurisdiction,
    Precision,
    ProgrammeKind,
    ProgrammeState,
    SourceGrade,
    Therapy,
    http_url,
)


class SourceSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=1000, validators=[http_url], help_text="A web address (http or https) with a host."
    )
    title = serializers.CharField(max_length=300)
    publisher = serializers.CharField(max_length=200)
    published_on = RecordDateField(allow_null=True, required=False, default=None)
    published_precision = _precision(required=False)
    grade = serializers.ChoiceField(
        choices=SourceGrade.choices,
        help_text="official document, sponsor statement, peer-reviewed literature or secondary report",
    )
    is_copy = serializers.BooleanField(
        required=False, default=False, help_text="An official document held on another host (a mirror, an OCR)."
    )
    original_url = serializers.URLField(
        max_length=1000,
        allow_blank=True,
        required=False,
        default="",
        help_text="For a copy: the original's address, when known.",
    )
    note = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class RegulatorSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    website = serializers.CharField(read_only=True)


class JurisdictionSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.CharField(  # type: ignore[assignment]  # a declared field, not Field.parent
        source="parent.code", read_only=True, allow_null=True, help_text="The union a member state belongs to."
    )
    regulators = RegulatorSerializer(many=True, read_only=True)
    reviewed_to = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="The date up to which an editor reviewed this jurisdiction's "
        "record; null if never. Events after it may be missing.",
    )
    covers_substances = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Substances researched here (every therapy with them)."
    )
    covers_therapies = CodeListField(attribute="slug", help_text="Therapies researched here.")
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Jurisdiction) -> str:
        return api_url("api-jurisdiction-detail", obj.code)


class TherapySerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    substance = serializers.CharField(read_only=True)
    indication = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Therapy) -> str:
        return api_url("api-therapy-detail", obj.slug)


class AccessProgrammeSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    regulator = serializers.CharField(source="regulator.code", read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=ProgrammeKind.choices, read_only=True)
    therapies = CodeListField(
        attribute="slug",
        help_text="The therapies it gives access to. Empty (and no `substance`): a general "
        "programme, shown as a route in no cell.",
    )
    substance = serializers.CharField(read_only=True, help_text="Or every therapy with this substance; may be empty.")
    summary = serializers.CharField(read_only=True)
    opened_on = serializers.DateField(read_only=True, allow_null=True)
    opened_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    closed_on = serializers.DateField(read_only=True, allow_null=True)
    closed_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    known_until = serializers.DateField(
        read_only=True, allow_null=True, help_text="Last date it is known to be open; its state is unknown after it."
    )
    known_until_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    state = serializers.ChoiceField(choices=ProgrammeState.choices, read_only=True)
    eligibility = serializers.CharField(read_only=True)
    prescriber_requirements = serializers.CharField(read_only=True)
    capacity = serializers.CharField(read_only=True, help_text="The scale, e.g. '50 patients at up to 10 US sites'.")
    capped = serializers.BooleanField(read_only=True, help_text="Enrolment capped at a fixed number.")
    verified = serializers.BooleanField(read_only=True)
    researched_on = serializers.DateField(read_only=True, allow_null=True)
    sources = SourceSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: AccessProgramme) -> str:
        return api_url("api-access-programme-detail", obj.slug)
