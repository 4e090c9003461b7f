"""JSON API views: one class per resource URL, each method validating its
input, calling one selector or service, and serialising the result.

Reads are public and conditional (ETag / Last-Modified → 304, see
`regulatory.httpcache`), with a fixed number of SQL queries per request. Writes need an
editor's token (`permissions`). Pagination, error mapping and the schema's
shared pieces live in modules of their own.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory import selectors, services
from regulatory.api import filters
from regulatory.api.errors import PreconditionFailed
from regulatory.api.pagination import StrictPageNumberPagination
from regulatory.api.permissions import IsEditorOrReadOnly, viewer_is_editor
from regulatory.api.schema import (
    CONFLICT,
    DECISIONS_DESCRIPTION,
    EDIT_RULES,
    FIELD_ERRORS,
    FORBIDDEN,
    ID_PARAM,
    IF_MATCH_PARAM,
    MAX_ID,
    NOT_FOUND,
    NOT_MODIFIED,
    PRECONDITION_FAILED,
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
from regulatory.errors import EditConflict
from regulatory.httpcache import cached_read
from regulatory.httpcache.validators import validators_for
from regulatory.models import Decision


class ReadApi(GenericAPIView):
    """Common ground of the API views."""

    schema = ApiSchema()
    permission_classes = [IsEditorOrReadOnly]
    pagination_class = StrictPageNumberPagination
    filterset_class: type = filters.StrictPlainFilter

    def cache_viewer(self, request: Request) -> str:
        """Who reads, for the HTTP cache: editors see drafts, so their answers
        have validators of their own and are private to them."""
        return "editor" if viewer_is_editor(request) else "public"

    def list_response(self, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


# --- Reference data: DRF's generic list and retrieve views, answered conditionally --------


class ConditionalListApi(ReadApi, generics.ListAPIView):
    """A list of reference data (each concrete view is wrapped in `cached_read`)."""


class ConditionalRetrieveApi(ReadApi, generics.RetrieveAPIView):
    """One row of reference data (each concrete view is wrapped in `cached_read`)."""

    filter_backends: list = []


@cached_read()
@extend_schema_view(get=read_schema(JurisdictionSerializer, summary="List jurisdictions", many=True))
class JurisdictionListApi(ConditionalListApi):
    serializer_class = JurisdictionSerializer

    def get_queryset(self):
        return selectors.jurisdiction_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(
    get=read_schema(JurisdictionSerializer, summary="One jurisdiction, with its regulators", lookup="code")
)
class JurisdictionDetailApi(ConditionalRetrieveApi):
    serializer_class = JurisdictionSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.jurisdiction_list()


@cached_read()
@extend_schema_view(get=read_schema(TherapySerializer, summary="List therapies", many=True))
class TherapyListApi(ConditionalListApi):
    serializer_class = TherapySerializer

    def get_queryset(self):
        return selectors.therapy_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(get=read_schema(TherapySerializer, summary="One therapy", lookup="slug"))
class TherapyDetailApi(ConditionalRetrieveApi):
    serializer_class = TherapySerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.therapy_list()


@cached_read()
@extend_schema_view(
    get=read_schema(
        AccessProgrammeSerializer,
        summary="List access programmes",
        many=True,
        description="Named routes to treatment outside trials (expanded access, authorised prescribers, special "
        "access, compassionate use, ...).",
    )
)
class AccessProgrammeListApi(ConditionalListApi):
    serializer_class = AccessProgrammeSerializer
    filterset_class = filters.AccessProgrammeFilter

    def get_queryset(self):
        return selectors.access_programme_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(get=read_schema(AccessProgrammeSerializer, summary="One access programme", lookup="slug"))
class AccessProgrammeDetailApi(ConditionalRetrieveApi):
    serializer_class = AccessProgrammeSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.access_programme_list()


# --- Decisions ------------------------------------------------------------------


def _decision_response(request: Request, decision_id: int, *, code: int = 200) -> Response:
    decision = selectors.decision_get_api(decision_id=decision_id, include_drafts=True)
    response = Response(DecisionSerializer(decision, context={"request": request}).data, status=code)
    if code == status.HTTP_200_OK:
        # The ETag a GET of the decision now answers, for the next If-Match.
        response["ETag"] = _current_etag(request)
    return response


def _current_etag(request: Request) -> str:
    """The ETag a GET of this URL answers an editor now (with this Accept)."""
    return validators_for(request, viewer="editor").etag


def _if_match(request: Request, decision: Decision) -> int | None:
    """The version an If-Match precondition vouches for: None when there is
    no If-Match; the decision's version when it names the decision's current
    ETag (strong comparison, RFC 9110 13.1.1) or is `*`; otherwise 412, before
    anything else about the request is looked at. The ETag moves with every
    write to the record, so a 412 may also follow another decision's edit:
    the body's `version` is checked against this decision alone."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        return None
    tags = parse_etags(header)
    if "*" in tags or _current_etag(request) in tags:
        return decision.version
    raise PreconditionFailed()


def _based_on(decision: Decision, *, sent_version: int | None, vouched: int | None) -> tuple[int, bool]:
    """The version the edit is based on (the body's, else If-Match's), and
    whether only If-Match said so. With neither, the version this request
    read: a concurrent write between that read and the service's UPDATE is
    then a 409, never silently undone."""
    if sent_version is not None:
        return sent_version, False
    return (vouched if vouched is not None else decision.version), vouched is not None


@cached_read()
class DecisionListApi(ReadApi):
    serializer_class = DecisionSerializer
    filterset_class = filters.DecisionFilter

    def get_queryset(self):
        return selectors.decision_list_api(include_drafts=viewer_is_editor(self.request))

    @extend_schema(
        summary="List decisions",
        description=DECISIONS_DESCRIPTION,
        responses={200: DecisionSerializer(many=True), 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
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
        decision = services.decision_create(
            by=request.user,
            therapies=arguments["therapies"],
            sources=arguments["sources"] or [],
            **arguments["fields"],
        )
        response = _decision_response(request, decision.pk, code=status.HTTP_201_CREATED)
        response["Location"] = api_url("api-decision-detail", decision.pk)
        return response


@cached_read(params=[filters.FORMAT_PARAM])
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

    @extend_schema(
        summary="One decision",
        description="Editors may also read drafts.",
        parameters=[ID_PARAM],
        responses={200: DecisionSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DecisionSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Replace a decision (editors)",
        description=EDIT_RULES,
        request=DecisionWriteSerializer,
        parameters=[ID_PARAM, IF_MATCH_PARAM],
        responses={
            200: DecisionSerializer,
            400: WRITE_ERRORS,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            412: PRECONDITION_FAILED,
        },
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Edit some fields of a decision (editors)",
        description="Send only the fields to change. " + EDIT_RULES,
        request=DecisionWriteSerializer,
        parameters=[ID_PARAM, IF_MATCH_PARAM],
        responses={
            200: DecisionSerializer,
            400: WRITE_ERRORS,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            412: PRECONDITION_FAILED,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        decision = self.get_object()
        vouched = _if_match(request, decision)  # a failed precondition is answered first (RFC 9110 13.2.2)
        serializer = DecisionWriteSerializer(decision, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        arguments = serializer.service_arguments()
        version, only_if_match = _based_on(decision, sent_version=arguments["version"], vouched=vouched)
        try:
            services.decision_update(
                decision=decision,
                by=request.user,
                data=arguments["fields"],
                therapies=arguments["therapies"],
                sources=arguments["sources"],
                change_kind=arguments["change_kind"],
                note=arguments["note"],
                version=version,
            )
        except EditConflict:
            if only_if_match:
                raise PreconditionFailed() from None
            raise
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
        "that is not a draft is a 409; so is publishing a draft that changed after the `version` "
        "sent (412 for If-Match).",
        request=PublishSerializer,
        parameters=[ID_PARAM, IF_MATCH_PARAM],
        responses={
            200: DecisionSerializer,
            400: WRITE_ERRORS,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            412: PRECONDITION_FAILED,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        decision = self.get_queryset().filter(pk=pk).first() if pk <= MAX_ID else None
        if decision is None:
            raise NotFound("No such decision.")
        vouched = _if_match(request, decision)
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version, only_if_match = _based_on(
            decision, sent_version=serializer.validated_data.get("version"), vouched=vouched
        )
        try:
            services.decision_publish(
                decision=decision, by=request.user, note=serializer.validated_data["note"], version=version
            )
        except EditConflict:
            if only_if_match:
                raise PreconditionFailed() from None
            raise
        return _decision_response(request, decision.pk)


# --- Status ------------------------------------------------------------------------


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
        responses={200: StatusResponseSerializer, 304: NOT_MODIFIED, 400: FIELD_ERRORS},
    )
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
        "jurisdictions": "api-jurisdiction-list",
        "therapies": "api-therapy-list",
        "access-programmes": "api-access-programme-list",
        "decisions": "api-decision-list",
        "status": "api-status",
        "subscriptions": "tracker-api-subscriptions",
        "schema": "api-schema",
        "docs": "api-docs",
    }
    links = {}
    for key, name in names.items():
        try:
            links[key] = request.build_absolute_uri(reverse(name))
        except NoReverseMatch:  # an app that is not installed has no link to offer
            continue
    return Response(links)
