"""Decisions: the output, the editors' write (create and update) and publish."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from regulatory import selectors
from regulatory.api.serializers.fields import BlankChoiceField, CodeListField, RecordDateField, _precision
from regulatory.api.serializers.reference import SourceSerializer
from regulatory.models import (
    AccessProgramme,
    ApprovalStage,
    ChangeKind,
    Control,
    DecisionKind,
    DecisionState,
    Jurisdiction,
    Precision,
    Regulator,
    Therapy,
)
from regulatory.services import DECISION_FIELDS


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
    target_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="A target date, e.g. a PDUFA action date."
    )
    target_precision = serializers.ChoiceField(choices=Precision.choices, read_only=True)
    substance = serializers.CharField(
        read_only=True, help_text="Set when the decision concerns a substance (every therapy with it)."
    )
    control = BlankChoiceField(
        choices=Control.choices,
        read_only=True,
        help_text="The control of the substance it sets from its effective date on.",
    )
    control_instrument = serializers.CharField(read_only=True)
    approval_stage = BlankChoiceField(
        choices=ApprovalStage.choices,
        read_only=True,
        help_text="The approval stage it sets for its therapies from its effective date on.",
    )
    access_programme = serializers.CharField(source="access_programme.slug", read_only=True, allow_null=True)
    verified = serializers.BooleanField(read_only=True)
    verification_note = serializers.CharField(read_only=True)
    researched_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="For the shipped dataset: when the fact was researched."
    )
    sources = SourceSerializer(many=True, read_only=True)
    state = serializers.ChoiceField(choices=DecisionState.choices, read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    recorded_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the latest change was recorded; null for drafts."
    )
    version = serializers.IntegerField(
        read_only=True, help_text="Moves on with every write; send it back with an edit."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Any) -> str:
        return selectors.decision_page_url(obj.pk)


# Decision.version is a PositiveIntegerField: a larger one is a 400, not an overflow.
VERSION_MAX = 2**31 - 1

# Keys of the output that a client may send back unchanged: they are ignored.
_READ_ONLY_KEYS = frozenset({"id", "url", "slug", "state", "published_at", "recorded_at", "researched_on"})


class DecisionWriteSerializer(serializers.Serializer):
    """A decision as an editor sends it: the same object as the output.

    Read-only keys (`id`, `url`, `slug`, `state`, `published_at`,
    `recorded_at`, `researched_on`) are ignored; any other unknown key is a 400, so that a typo
    is not silently dropped. Editing a published decision needs `change_kind`
    (`amend` or `correct`) and a public `note`; it records a Change.
    """

    jurisdiction = serializers.SlugRelatedField(slug_field="code", queryset=Jurisdiction.objects.all())
    regulator = serializers.SlugRelatedField(
        slug_field="code", queryset=Regulator.objects.all(), allow_null=True, required=False
    )
    therapies = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Therapy.objects.all(),
        many=True,
        allow_empty=True,
        required=False,
        help_text="Required unless `substance` is given.",
    )
    substance = serializers.CharField(
        max_length=100,
        allow_blank=True,
        required=False,
        help_text="The decision concerns every therapy with this substance.",
    )
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    title = serializers.CharField(min_length=1, max_length=300)
    summary = serializers.CharField(min_length=1)
    announced_on = RecordDateField()
    announced_precision = _precision(required=False)
    effective_on = RecordDateField(allow_null=True, required=False)
    effective_precision = _precision(required=False)
    target_on = RecordDateField(allow_null=True, required=False)
    target_precision = _precision(required=False)
    control = BlankChoiceField(choices=Control.choices, required=False)
    control_instrument = serializers.CharField(
        max_length=300,
        allow_blank=True,
        required=False,
        help_text="Required with `control`: 'Schedule I, Controlled Substances Act'.",
    )
    approval_stage = BlankChoiceField(choices=ApprovalStage.choices, required=False)
    access_programme = serializers.SlugRelatedField(
        slug_field="slug", queryset=AccessProgramme.objects.all(), allow_null=True, required=False
    )
    verified = serializers.BooleanField(required=False)
    verification_note = serializers.CharField(allow_blank=True, required=False)
    sources = SourceSerializer(
        many=True, required=False, help_text="Replaces the decision's sources when given; left out, they are kept."
    )
    change_kind = serializers.ChoiceField(
        choices=[(ChangeKind.AMEND, "amend"), (ChangeKind.CORRECT, "correct")],
        write_only=True,
        required=False,
        help_text="Required when editing a published decision: `amend` (the facts moved on) or "
        "`correct` (the record was wrong). Ignored for drafts.",
    )
    note = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Required when editing a published decision: what changed and why "
        "(shown publicly in the decision's history).",
    )
    version = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=VERSION_MAX,
        help_text="The `version` of the decision your edit is based on (from a GET). If it has changed since, "
        "the edit is refused with 409 rather than undoing someone else's edit. Ignored on create.",
    )

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
        if decision is None and not attrs.get("therapies") and not attrs.get("substance", "").strip():
            raise serializers.ValidationError({"therapies": "Name the therapies, or give a `substance`."})
        if (
            "therapies" in attrs
            and not attrs["therapies"]
            and decision is not None
            and not (attrs.get("substance", decision.substance))
        ):
            raise serializers.ValidationError({"therapies": "A decision concerns at least one therapy."})
        # The live-edit rule (amend/correct with a public note) is the service's: EditRuleError → 400.
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        """The validated data split as regulatory.services expects it."""
        data = dict(self.validated_data)
        therapies = data.pop("therapies", None)
        sources = data.pop("sources", None)
        change_kind = data.pop("change_kind", None)
        note = data.pop("note", "")
        version = data.pop("version", None)
        fields = {name: value for name, value in data.items() if name in DECISION_FIELDS}
        # The rules of an edit (change_kind and note for a published decision,
        # no edit of a retracted one) are the service's: regulatory.services.
        return {
            "fields": fields,
            "therapies": therapies,
            "sources": sources,
            "change_kind": change_kind,
            "note": note,
            "version": version,
        }


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Optional public note recorded with the publication.",
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=VERSION_MAX,
        help_text="The version of the draft you reviewed (from a GET): if it has "
        "changed since, publishing is refused with 409.",
    )
