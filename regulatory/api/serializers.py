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
    ApprovalStage,
    ChangeKind,
    Control,
    DecisionKind,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeKind,
    ProgrammeState,
    Regulator,
    SourceGrade,
    Therapy,
    http_url,
)
from regulatory.services import DECISION_FIELDS


def api_url(name: str, *args: Any) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


class BlankChoiceField(serializers.ChoiceField):
    """A choice, or null for a decision that sets none (stored as "")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

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


@extend_schema_field(
    {
        "type": "string",
        "format": "date",
        "pattern": r"^(19\d\d|2[01]\d\d|2200)-\d\d-\d\d$",
        "description": "YYYY-MM-DD, from 1900-01-01 to 2200-12-31.",
    }
)
class RecordDateField(serializers.DateField):
    """An ISO date from EARLIEST_DATE to LATEST_DATE."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}."
        self.validators.append(MinValueValidator(EARLIEST_DATE, message=message))
        self.validators.append(MaxValueValidator(LATEST_DATE, message=message))


def _precision(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Precision.choices,
        default=Precision.DAY,
        help_text="How much of the date beside it is known: day, month or year. "
        "A month or a year is stored as its first day.",
        **kwargs,
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
    parent = serializers.CharField(
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


class ControlInForceSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=Control.choices, read_only=True)
    label = serializers.CharField(read_only=True)
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
    label = serializers.CharField(read_only=True)
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
    label = serializers.CharField(read_only=True, help_text="As in the headline: 'EA protocol (closed)'.")
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
