"""The status endpoint: every cell on a date."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory import record_time
from regulatory.api import filters
from regulatory.api.schema import (
    FIELD_ERRORS,
    NOT_MODIFIED,
)
from regulatory.api.serializers import (
    StatusResponseSerializer,
)
from regulatory.api.views.base import ReadApi
from regulatory.httpcache import cached_read

# --- Status ------------------------------------------------------------------------


class RecordedStatusResponseSerializer(StatusResponseSerializer):
    recorded_as_of = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="The record time asked for (`recorded_as_of`), else null."
    )


@cached_read(depends_on_today=True, params=[filters.StatusQueryForm])
class StatusApi(ReadApi):
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="Status of each (jurisdiction, therapy) pair on a date",
        description=(
            "One row per pair of the requested jurisdictions and therapies (all by default), in matrix order, "
            "in three dimensions on `as_of`: `control` of the substance (the latest published decision with a "
            "control in force, else the jurisdiction's baseline), `approval_stage` of the therapy (the latest "
            "decision with a stage in force) and `access` (the access programmes for the therapy or its "
            "substance opened by then, each in its state on that date), each naming the decision, baseline or "
            "programme that set it.\n\n"
            "**Headline rule** (`status`): approval stage · control · routes, each part only when known: the "
            "stage's label (not `none`), the instrument's short name (the text before its first comma, e.g. "
            "'Schedule I'), then each route as '<kind> (<state>)'. Empty cells read 'No decision recorded' "
            "(the jurisdiction covers the therapy) or 'Not researched'. **Colour** (`tone`): the first that "
            "applies of approved, access (an open route that is not capped), permitted (medical use permitted), "
            "review, refused (not approved / withdrawn), investigational, prohibited, uncontrolled, none, "
            "not_researched.\n\n"
            "Each row also gives `certain` (false when `as_of` falls inside a date known only to the month or "
            "year), `provenance` (best source grade, number of sources, unverified), the jurisdiction's "
            "`reviewed_to` and `stale` (not reviewed in the 90 days before `as_of`)."
        ),
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="The date (YYYY-MM-DD); today by default."),
            OpenApiParameter(
                "recorded_as_of",
                OpenApiTypes.STR,
                description="Record time: the status as the tracker showed it at this moment, `YYYY-MM-DD` (the "
                "end of that day) or `YYYY-MM-DDTHH:MM` (site time), rebuilt from the Change history; `as_of` "
                "defaults to its date. A moment in the future or before the first record is a 400.",
            ),
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
        ],
        responses={200: RecordedStatusResponseSerializer, 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    def get(self, request: Request) -> Response:
        form = filters.StatusQueryForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({name: [str(m) for m in messages] for name, messages in form.errors.items()})
        # In record time (as the tracker showed it at R) the date defaults to R's.
        recorded = form.cleaned_data["recorded_as_of"]
        as_of = form.cleaned_data["as_of"] or (recorded.date if recorded else timezone.localdate())
        rows = record_time.status_rows(
            as_of=as_of,
            jurisdictions=form.cleaned_data["jurisdiction"] or None,
            therapies=form.cleaned_data["therapy"] or None,
            recorded=recorded,
        )
        payload = {"as_of": as_of, "results": rows, "recorded_as_of": recorded.at if recorded else None}
        return Response(RecordedStatusResponseSerializer(payload).data)
