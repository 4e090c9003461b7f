"""JSON API views: one class per resource URL, each method validating its
input, calling one selector or service, and serialising the result.

Reads are public and conditional (ETag / Last-Modified → 304, see
`caching`), with a fixed number of SQL queries per request. Writes need an
editor's token (`permissions`). Pagination, error mapping and the schema's
shared pieces live in modules of their own.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory import selectors, services
from regulatory.api import filters
from regulatory.api.caching import PublicAnswerMixin, conditional_get
from regulatory.api.errors import Conflict, service_errors
from regulatory.api.pagination import StrictPageNumberPagination
from regulatory.api.permissions import IsEditorOrReadOnly, viewer_is_editor
from regulatory.api.schema import (
    CONFLICT,
    DECISIONS_DESCRIPTION,
    EDIT_RULES,
    FIELD_ERRORS,
    FORBIDDEN,
    ID_PARAM,
    MAX_ID,
    NOT_FOUND,
    NOT_MODIFIED,
    UNAUTHENTICATED,
    WRITE_ERRORS,
    ApiSchema,
    read_schema,
)
from regulatory.api.serializers import (
    AccessProgrammeSerializer,
    DecisionSerializer,
    DecisionWriteSerializer,
    JurisdictionSerializer,
    PublishSerializer,
    StatusResponseSerializer,
    TherapySerializer,
    api_url,
)
from regulatory.models import Decision, DecisionState


class ReadApi(PublicAnswerMixin):
    """Common ground of the API views."""

    schema = ApiSchema()
    permission_classes = [IsEditorOrReadOnly]
    pagination_class = StrictPageNumberPagination
    filterset_class: type = filters.StrictPlainFilter

    def list_response(self, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


# --- Reference data -----------------------------------------------------------


class JurisdictionListApi(ReadApi):
    serializer_class = JurisdictionSerializer

    def get_queryset(self):
        return selectors.jurisdiction_list()

    @read_schema(JurisdictionSerializer, summary="List jurisdictions", many=True)
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(JurisdictionSerializer)


class JurisdictionDetailApi(ReadApi):
    serializer_class = JurisdictionSerializer
    filter_backends: list = []
    lookup_field = "code"

    def get_queryset(self):
        return selectors.jurisdiction_list()

    @read_schema(JurisdictionSerializer, summary="One jurisdiction, with its regulators", lookup="code")
    @conditional_get()
    def get(self, request: Request, code: str) -> Response:
        return Response(JurisdictionSerializer(self.get_object(), context=self.get_serializer_context()).data)


class TherapyListApi(ReadApi):
    serializer_class = TherapySerializer

    def get_queryset(self):
        return selectors.therapy_list()

    @read_schema(TherapySerializer, summary="List therapies", many=True)
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(TherapySerializer)


class TherapyDetailApi(ReadApi):
    serializer_class = TherapySerializer
    filter_backends: list = []
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.therapy_list()

    @read_schema(TherapySerializer, summary="One therapy", lookup="slug")
    @conditional_get()
    def get(self, request: Request, slug: str) -> Response:
        return Response(TherapySerializer(self.get_object(), context=self.get_serializer_context()).data)


class AccessProgrammeListApi(ReadApi):
    serializer_class = AccessProgrammeSerializer
    filterset_class = filters.AccessProgrammeFilter

    def get_queryset(self):
        return selectors.access_programme_list()

    @read_schema(AccessProgrammeSerializer, summary="List access programmes", many=True,
                  description="Named routes to treatment outside trials (expanded access, authorised "
                              "prescribers, special access, compassionate use, ...).")
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(AccessProgrammeSerializer)


class AccessProgrammeDetailApi(ReadApi):
    serializer_class = AccessProgrammeSerializer
    filter_backends: list = []
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.access_programme_list()

    @read_schema(AccessProgrammeSerializer, summary="One access programme", lookup="slug")
    @conditional_get()
    def get(self, request: Request, slug: str) -> Response:
        return Response(AccessProgrammeSerializer(self.get_object(), context=self.get_serializer_context()).data)


# --- Decisions ------------------------------------------------------------------


def _decision_response(request: Request, decision_id: int, *, code: int = 200) -> Response:
    decision = selectors.decision_get_api(decision_id=decision_id, include_drafts=True)
    return Response(DecisionSerializer(decision, context={"request": request}).data, status=code)


class DecisionListApi(ReadApi):
    serializer_class = DecisionSerializer
    filterset_class = filters.DecisionFilter

    def get_queryset(self):
        return selectors.decision_list_api(include_drafts=viewer_is_editor(self.request))

    @extend_schema(
        summary="List decisions", description=DECISIONS_DESCRIPTION,
        responses={200: DecisionSerializer(many=True), 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(DecisionSerializer)

    @extend_schema(
        summary="Create a draft decision (editors)",
        description="Creates a draft with its therapies and sources; publish it with `POST …/publish/`.",
        request=DecisionWriteSerializer,
        responses={201: DecisionSerializer, 400: WRITE_ERRORS, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        serializer = DecisionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        arguments = serializer.service_arguments()
        with service_errors():
            decision = services.decision_create(
                by=request.user, therapies=arguments["therapies"], sources=arguments["sources"] or [],
                **arguments["fields"],
            )
        response = _decision_response(request, decision.pk, code=status.HTTP_201_CREATED)
        response["Location"] = api_url("api-decision-detail", decision.pk)
        return response


class DecisionDetailApi(ReadApi):
    serializer_class = DecisionSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.decision_list_api(include_drafts=viewer_is_editor(self.request))

    def get_object(self) -> Decision:
        pk = self.kwargs["pk"]
        decision = self.get_queryset().filter(pk=pk).first() if pk <= MAX_ID else None
        if decision is None:
            raise NotFound("No such decision.")
        return decision

    @extend_schema(summary="One decision", description="Editors may also read drafts.", parameters=[ID_PARAM],
                   responses={200: DecisionSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND})
    @conditional_get()
    def get(self, request: Request, pk: int) -> Response:
        return Response(DecisionSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Replace a decision (editors)",
        description=EDIT_RULES,
        request=DecisionWriteSerializer, parameters=[ID_PARAM],
        responses={200: DecisionSerializer, 400: WRITE_ERRORS, 401: UNAUTHENTICATED, 403: FORBIDDEN,
                   404: NOT_FOUND, 409: CONFLICT},
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Edit some fields of a decision (editors)",
        description="Send only the fields to change. " + EDIT_RULES,
        request=DecisionWriteSerializer, parameters=[ID_PARAM],
        responses={200: DecisionSerializer, 400: WRITE_ERRORS, 401: UNAUTHENTICATED, 403: FORBIDDEN,
                   404: NOT_FOUND, 409: CONFLICT},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        decision = self.get_object()
        if decision.state == DecisionState.RETRACTED:
            raise Conflict("A retracted decision cannot be edited.")
        serializer = DecisionWriteSerializer(decision, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        arguments = serializer.service_arguments()
        with service_errors():
            services.decision_update(
                decision=decision, by=request.user, data=arguments["fields"], therapies=arguments["therapies"],
                sources=arguments["sources"], change_kind=arguments["change_kind"] or "amend",
                note=arguments["note"],
            )
        return _decision_response(request, decision.pk)


class DecisionPublishApi(ReadApi):
    serializer_class = PublishSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.decision_list_api(include_drafts=True)

    @extend_schema(
        summary="Publish a draft decision (editors)",
        description="Publishes the draft and records a Change (which subscribers are told about). "
                    "The draft needs at least one source and one therapy (400). Publishing a decision "
                    "that is not a draft is a 409.",
        request=PublishSerializer, parameters=[ID_PARAM],
        responses={200: DecisionSerializer, 400: WRITE_ERRORS, 401: UNAUTHENTICATED, 403: FORBIDDEN,
                   404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        decision = self.get_queryset().filter(pk=pk).first() if pk <= MAX_ID else None
        if decision is None:
            raise NotFound("No such decision.")
        if not decision.is_draft:
            raise Conflict(f"Only a draft can be published; this decision is {decision.get_state_display().lower()}.")
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.decision_publish(decision=decision, by=request.user, note=serializer.validated_data["note"])
        return _decision_response(request, decision.pk)


# --- Status ------------------------------------------------------------------------


class StatusApi(ReadApi):
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        summary="Status of each (jurisdiction, therapy) pair on a date",
        description="One row per pair of the requested jurisdictions and therapies (all by default), in matrix "
                    "order. The status on a date is set by the latest published decision effective on or "
                    "before it; `status` is null where none has been recorded yet.",
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="The date (YYYY-MM-DD); today by default."),
            OpenApiParameter("jurisdiction", {"type": "array", "items": {"type": "string"}}, explode=False,
                             description="Jurisdiction codes, comma-separated (e.g. `us,au`)."),
            OpenApiParameter("therapy", {"type": "array", "items": {"type": "string"}}, explode=False,
                             description="Therapy slugs, comma-separated (e.g. `mdma-ptsd`)."),
        ],
        responses={200: StatusResponseSerializer, 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
    @conditional_get(depends_on_today=True)
    def get(self, request: Request) -> Response:
        form = filters.StatusQueryForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({name: list(messages) for name, messages in form.errors.items()})
        as_of = form.cleaned_data["as_of"] or timezone.localdate()
        rows = selectors.status_rows(
            as_of=as_of,
            jurisdictions=form.cleaned_data["jurisdiction"] or None,
            therapies=form.cleaned_data["therapy"] or None,
        )
        return Response(StatusResponseSerializer({"as_of": as_of, "results": rows}).data)


@extend_schema(exclude=True)
@api_view(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@permission_classes([AllowAny])
def not_found(request: Request, *args: Any, **kwargs: Any) -> Response:
    """Any other URL under /api/v1/: a JSON 404 rather than the HTML page."""
    raise NotFound("No such API endpoint. See /api/v1/docs/.")


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    """What /api/v1/ offers, as links: a starting point for a client or a person."""
    from django.urls import NoReverseMatch, reverse

    names = {
        "jurisdictions": "api-jurisdiction-list", "therapies": "api-therapy-list",
        "access-programmes": "api-access-programme-list", "decisions": "api-decision-list",
        "status": "api-status", "subscriptions": "tracker-api-subscriptions",
        "schema": "api-schema", "docs": "api-docs",
    }
    links = {}
    for key, name in names.items():
        try:
            links[key] = request.build_absolute_uri(reverse(name))
        except NoReverseMatch:  # an app that is not installed has no link to offer
            continue
    return Response(links)
