"""Shapes of the JSON API. Serializers only convert and validate; writes go
through regulatory.services, reads come from regulatory.selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from regulatory import selectors
from regulatory.dates import EARLIEST_DATE, LATEST_DATE
from regulatory.models import (
    AccessProgramme,
    ChangeKind,
    DecisionKind,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeKind,
    ProgrammeState,
    Regulator,
    SourceGrade,
    Status,
    Therapy,
)
from regulatory.services import DECISION_FIELDS


def api_url(name: str, *args: Any) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


class StatusField(serializers.ChoiceField):
    """A status, or null for a decision that sets none (stored as "")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Status.choices, allow_null=True, **kwargs)

    def to_representation(self, value: str | None) -> str | None:
        return value or None

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF would pass a null straight through (allow_null), and the column
        # is NOT NULL: store the null the API returns as "no status".
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> str:
        if data in (None, ""):
            return ""
        return super().to_internal_value(data)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class CodeListField(serializers.Field):
    """Codes or slugs of related rows, read from a (prefetched) manager."""

    def __init__(self, *, attribute: str, **kwargs: Any) -> None:
        self.attribute = attribute
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, manager: Any) -> list[str]:
        return [getattr(row, self.attribute) for row in manager.all()]


@extend_schema_field({"type": "string", "format": "date", "pattern": r"^(19\d\d|2[01]\d\d|2200)-\d\d-\d\d$",
                      "description": "YYYY-MM-DD, from 1900-01-01 to 2200-12-31."})
class RecordDateField(serializers.DateField):
    """An ISO date from EARLIEST_DATE to LATEST_DATE."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}."
        self.validators.append(MinValueValidator(EARLIEST_DATE, message=message))
        self.validators.append(MaxValueValidator(LATEST_DATE, message=message))


def _precision(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=Precision.choices, default=Precision.DAY,
                                   help_text="How much of the date beside it is known: day, month or year. "
                                             "A month or a year is stored as its first day.", **kwargs)


class SourceSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    title = serializers.CharField(max_length=300)
    publisher = serializers.CharField(max_length=200)
    published_on = RecordDateField(allow_null=True, required=False, default=None)
    published_precision = _precision(required=False)
    grade = serializers.ChoiceField(choices=SourceGrade.choices,
                                    help_text="official document, sponsor statement or secondary report")
    note = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class RegulatorSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    website = serializers.CharField(read_only=True)


class JurisdictionSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.CharField(source="parent.code", read_only=True, allow_null=True,
                                   help_text="The union a member state belongs to.")
    regulators = RegulatorSerializer(many=True, read_only=True)
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
    therapies = CodeListField(attribute="slug",
                                             help_text="Empty when the programme is not specific to one therapy.")
    summary = serializers.CharField(read_only=True)
    opened_on = serializers.DateField(read_only=True, allow_null=True)
    opened_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    closed_on = serializers.DateField(read_only=True, allow_null=True)
    closed_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    state = serializers.ChoiceField(choices=ProgrammeState.choices, read_only=True)
    eligibility = serializers.CharField(read_only=True)
    prescriber_requirements = serializers.CharField(read_only=True)
    capacity = serializers.CharField(read_only=True)
    verified = serializers.BooleanField(read_only=True)
    sources = SourceSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: AccessProgramme) -> str:
        return api_url("api-access-programme-detail", obj.slug)


class DecisionSerializer(serializers.Serializer):
    """A decision as the API returns it (lists, details, and write responses)."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The decision's public page.")
    slug = serializers.CharField(read_only=True)
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    regulator = serializers.CharField(source="regulator.code", read_only=True, allow_null=True)
    therapies = CodeListField(attribute="slug")
    kind = serializers.ChoiceField(choices=DecisionKind.choices, read_only=True)
    title = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    announced_on = serializers.DateField(read_only=True)
    announced_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    effective_on = serializers.DateField(read_only=True, allow_null=True)
    effective_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    target_on = serializers.DateField(read_only=True, allow_null=True,
                                      help_text="A target date, e.g. a PDUFA action date.")
    target_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    status = StatusField(read_only=True,
                         help_text="The status this decision sets for its therapies from its effective date on.")
    access_programme = serializers.CharField(source="access_programme.slug", read_only=True, allow_null=True)
    verified = serializers.BooleanField(read_only=True)
    verification_note = serializers.CharField(read_only=True)
    sources = SourceSerializer(many=True, read_only=True)
    state = serializers.ChoiceField(choices=DecisionState.choices, read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    recorded_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                            help_text="When the latest change was recorded; null for drafts.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Any) -> str:
        return selectors.decision_page_url(obj.pk)


# Keys of the output that a client may send back unchanged: they are ignored.
_READ_ONLY_KEYS = frozenset({"id", "url", "slug", "state", "published_at", "recorded_at"})


class DecisionWriteSerializer(serializers.Serializer):
    """A decision as an editor sends it: the same object as the output.

    Read-only keys (`id`, `url`, `slug`, `state`, `published_at`,
    `recorded_at`) are ignored; any other unknown key is a 400, so that a typo
    is not silently dropped. Editing a published decision needs `change_kind`
    (`amend` or `correct`) and a public `note`; it records a Change.
    """

    jurisdiction = serializers.SlugRelatedField(slug_field="code", queryset=Jurisdiction.objects.all())
    regulator = serializers.SlugRelatedField(slug_field="code", queryset=Regulator.objects.all(),
                                             allow_null=True, required=False)
    therapies = serializers.SlugRelatedField(slug_field="slug", queryset=Therapy.objects.all(), many=True,
                                             allow_empty=False)
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    title = serializers.CharField(min_length=1, max_length=300)
    summary = serializers.CharField(min_length=1)
    announced_on = RecordDateField()
    announced_precision = _precision(required=False)
    effective_on = RecordDateField(allow_null=True, required=False)
    effective_precision = _precision(required=False)
    target_on = RecordDateField(allow_null=True, required=False)
    target_precision = _precision(required=False)
    status = StatusField(required=False)
    access_programme = serializers.SlugRelatedField(slug_field="slug", queryset=AccessProgramme.objects.all(),
                                                    allow_null=True, required=False)
    verified = serializers.BooleanField(required=False)
    verification_note = serializers.CharField(allow_blank=True, required=False)
    sources = SourceSerializer(many=True, required=False,
                               help_text="Replaces the decision's sources when given; left out, they are kept.")
    change_kind = serializers.ChoiceField(
        choices=[(ChangeKind.AMEND, "amend"), (ChangeKind.CORRECT, "correct")], write_only=True, required=False,
        help_text="Required when editing a published decision: `amend` (the facts moved on) or "
                  "`correct` (the record was wrong). Ignored for drafts.",
    )
    note = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=2000,
                                 help_text="Required when editing a published decision: what changed and why "
                                           "(shown publicly in the decision's history).")

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - _READ_ONLY_KEYS)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    def validate_sources(self, sources: list[dict]) -> list[dict]:
        urls = [source["url"] for source in sources]
        duplicates = sorted({url for url in urls if urls.count(url) > 1})
        if duplicates:
            raise serializers.ValidationError(f"Each source is cited once; repeated: {', '.join(duplicates)}.")
        return sources

    def validate(self, attrs: dict) -> dict:
        decision = self.instance
        if decision is not None and decision.is_live:
            errors = {}
            if not attrs.get("change_kind"):
                errors["change_kind"] = "Required when editing a published decision: amend or correct."
            if not attrs.get("note", "").strip():
                errors["note"] = "Say what changed and why; the note is shown in the public history."
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        """The validated data split as regulatory.services expects it."""
        data = dict(self.validated_data)
        therapies = data.pop("therapies", None)
        sources = data.pop("sources", None)
        change_kind = data.pop("change_kind", None)
        note = data.pop("note", "")
        fields = {name: value for name, value in data.items() if name in DECISION_FIELDS}
        return {"fields": fields, "therapies": therapies, "sources": sources,
                "change_kind": change_kind, "note": note}


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000,
                                 help_text="Optional public note recorded with the publication.")


class StatusRowSerializer(serializers.Serializer):
    """One (jurisdiction, therapy) pair; `status` is null where no published
    decision has set one on or before `as_of`."""

    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    jurisdiction_name = serializers.CharField(source="jurisdiction.name", read_only=True)
    therapy = serializers.CharField(source="therapy.slug", read_only=True)
    therapy_name = serializers.CharField(source="therapy.name", read_only=True)
    status = serializers.ChoiceField(source="entry.status", choices=Status.choices, allow_null=True, read_only=True)
    since = serializers.DateField(source="entry.since", allow_null=True, read_only=True,
                                  help_text="The effective date of the deciding decision.")
    since_precision = serializers.ChoiceField(source="entry.since_precision", choices=Precision.choices,
                                              allow_null=True, read_only=True)
    decision = serializers.IntegerField(source="entry.decision_id", allow_null=True, read_only=True,
                                        help_text="Id of the decision that set the status.")
    decision_url = serializers.SerializerMethodField(help_text="That decision's public page.")

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_decision_url(self, row: selectors.StatusRow) -> str | None:
        return selectors.decision_page_url(row.entry.decision_id) if row.entry else None


class StatusResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField(read_only=True)
    results = StatusRowSerializer(many=True, read_only=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
