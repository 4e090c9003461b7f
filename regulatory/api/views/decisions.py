"""Decisions: list, detail (read, editors' update and draft deletion) and publish."""

from __future__ import annotations

from django.utils.http import parse_etags
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory import selectors, services
from regulatory.api import filters
from regulatory.api.errors import PreconditionFailed
from regulatory.api.permissions import viewer_is_editor
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
)
from regulatory.api.serializers import (
    DecisionSerializer,
    DecisionWriteSerializer,
    PublishSerializer,
    api_url,
)
from regulatory.api.views.base import ReadApi
from regulatory.errors import EditConflict
from regulatory.httpcache import cached_read
from regulatory.httpcache.validators import validators_for
from regulatory.models import Decision

# --- Decisions ------------------------------------------------------------------


# What an editor's write to one decision (replace, edit, publish) may answer.
_WRITE_RESPONSES = {
    200: DecisionSerializer,
    400: WRITE_ERRORS,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
    412: PRECONDITION_FAILED,
}


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
        responses=_WRITE_RESPONSES,
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Edit some fields of a decision (editors)",
        description="Send only the fields to change. " + EDIT_RULES,
        request=DecisionWriteSerializer,
        parameters=[ID_PARAM, IF_MATCH_PARAM],
        responses=_WRITE_RESPONSES,
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
        responses=_WRITE_RESPONSES,
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
