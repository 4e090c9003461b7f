"""JSON API views: one class per resource URL, each method validating its
input, calling one selector or service, and serialising the result.

Reads are public and conditional (ETag / Last-Modified → 304), with a fixed
number of SQL queries per request. Writes need an editor's token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.compat import split_header_value
from rest_framework.settings import api_settings

from regulatory import conditional, selectors, services
from regulatory.api import filters
from regulatory.api.serializers import (
    AccessProgrammeSerializer,
    DecisionSerializer,
    DecisionWriteSerializer,
    ErrorSerializer,
    JurisdictionSerializer,
    PublishSerializer,
    StatusResponseSerializer,
    TherapySerializer,
    api_url,
)
from regulatory.editors import user_is_editor
from regulatory.models import Decision, DecisionState

# The largest id a BIGINT primary key can hold: a larger one in a URL is a
# 404, not a database overflow error.
MAX_ID = 2**63 - 1


def viewer_is_editor(request: Request) -> bool:
    """Whether the reader is an editor (may see drafts, may write); asked once per request."""
    if not hasattr(request, "_viewer_is_editor"):
        request._viewer_is_editor = user_is_editor(request.user)
    return request._viewer_is_editor


class IsEditorOrReadOnly(BasePermission):
    """Anyone reads; only editors write. Anonymous writers get a 401 (DRF
    asks for credentials when none were given), other users a 403."""

    message = "Only editors may change the regulatory record."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or viewer_is_editor(request)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The decision is not in a state that allows this."
    default_code = "conflict"


class StrictPageNumberPagination(PageNumberPagination):
    """Page numbers and sizes that make no sense are a 400 naming the
    parameter (DRF would answer 404 "Invalid page" or silently ignore)."""

    page_size = api_settings.PAGE_SIZE or 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"Enter a whole number from 1 to {self.max_page_size}."
            ]})
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "A page number (from 1). Past the last page is a 400.",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Results per page, {self.page_size} by default.",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]

    def paginate_queryset(self, queryset, request: Request, view: Any = None) -> list:
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = request.query_params.get(self.page_query_param) or 1
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise ValidationError({self.page_query_param: [
                f"There is no page {number!r}: pages run from 1 to {paginator.num_pages}."
            ]}) from None
        self.display_page_controls = paginator.num_pages > 1
        return list(self.page)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a ValidationError from regulatory.services into a 400 whose keys
    are the fields at fault (`non_field_errors` for the rest)."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail = {
                (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): messages
                for name, messages in exc.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        raise ValidationError(detail) from None


def conditional_get(*, depends_on_today: bool = False) -> Callable:
    """Answer 304 when the client's copy is current. The validators are
    computed after authentication (editors see drafts, so their ETags differ)
    and before the view's own queries. Public readers' 304s and kept bodies
    are answered earlier still, before DRF's dispatch (`ReadApi.dispatch`)."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def wrapper(self: GenericAPIView, request: Request, *args: Any, **kwargs: Any) -> Any:
            viewer = "editor" if viewer_is_editor(request) else "public"
            validators, may_be_kept = conditional.full_path_validators(
                request, viewer=viewer, depends_on_today=depends_on_today
            )
            response = conditional.not_modified(request, validators) or (
                conditional.cached_response(validators) if may_be_kept else None
            )
            if response is not None:
                return response
            response = method(self, request, *args, **kwargs)
            if response.status_code == 200:
                conditional.stamp(response, validators)
                # Kept once DRF has rendered it (after content negotiation).
                response.add_post_render_callback(lambda rendered: conditional.remember(rendered, validators))
            return response

        wrapper.conditional_get = {"depends_on_today": depends_on_today}  # type: ignore[attr-defined]
        return wrapper

    return decorator


# Error shapes, for the schema.
FIELD_ERRORS = OpenApiResponse(
    response={"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    description="Bad input: each key names the query parameter (or field) at fault.",
)
WRITE_ERRORS = OpenApiResponse(
    response={"type": "object", "additionalProperties": {}},
    description="Invalid decision: each key names the field at fault (sources by position).",
)
NOT_FOUND = OpenApiResponse(response=ErrorSerializer, description="No such resource (or a draft, for non-editors).")
NOT_MODIFIED = OpenApiResponse(description="The copy named by If-None-Match / If-Modified-Since is current.")
UNAUTHENTICATED = OpenApiResponse(response=ErrorSerializer, description="No credentials: send `Authorization: Token …`.")
FORBIDDEN = OpenApiResponse(response=ErrorSerializer, description="Not an editor.")
CONFLICT = OpenApiResponse(response=ErrorSerializer, description="The decision is not in a state that allows this.")


def _path_param(name: str, schema: dict, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description)


ID_PARAM = _path_param("id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The decision's id.")
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"


class ApiSchema(AutoSchema):
    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        # Reads need no credentials (IsEditorOrReadOnly): say so in the schema.
        if self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths


class ReadApi(GenericAPIView):
    """Common ground of the API views."""

    schema = ApiSchema()
    permission_classes = [IsEditorOrReadOnly]
    pagination_class = StrictPageNumberPagination
    filterset_class: type = filters.StrictPlainFilter

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """A public reader's 304 or kept body, before DRF's request wrapping,
        authentication and content negotiation (see conditional.public_answer),
        with the headers DRF would add (Allow, Vary); anything else goes
        through DRF unchanged."""
        if request.method in ("GET", "HEAD"):
            options = getattr(getattr(self, request.method.lower(), None), "conditional_get", None)
            if options is not None:
                response = conditional.public_answer(request, **options)
                if response is not None:
                    self.args, self.kwargs, self.request = args, kwargs, request
                    # As DRF's finalize_response: its default headers, Vary merged.
                    for key, value in self._default_headers():
                        if key == "Vary":
                            patch_vary_headers(response, [value])
                        else:
                            response[key] = value
                    return response
        return super().dispatch(request, *args, **kwargs)

    _default_headers_of: dict[type, tuple[tuple[str, str], ...]] = {}

    def _default_headers(self) -> tuple[tuple[str, str], ...]:
        """DRF's default_response_headers (Allow; Vary: Accept), the same for
        every instance of a class once set up: worked out once per class. A
        Vary already named by conditional.stamp is left out."""
        headers = ReadApi._default_headers_of.get(type(self))
        if headers is None:
            headers = []
            for key, value in self.default_response_headers.items():
                if key == "Vary":
                    headers += [("Vary", name) for name in split_header_value(value)
                                if name.lower() not in conditional.STAMPED_VARY]
                else:
                    headers.append((key, value))
            headers = ReadApi._default_headers_of[type(self)] = tuple(headers)
        return headers

    def list_response(self, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


def _read_schema(serializer: Any, *, summary: str, description: str = "", many: bool = False,
                 lookup: str | None = None) -> Callable:
    """Schema of a read endpoint: a list (many) or a detail found by `lookup`."""
    if many:
        responses = {200: serializer(many=True), 304: NOT_MODIFIED, 400: FIELD_ERRORS}
        parameters = []
    else:
        responses = {200: serializer, 304: NOT_MODIFIED, 404: NOT_FOUND}
        parameters = [_path_param(lookup, {"type": "string", "pattern": SLUG_PATTERN}, f"The {lookup}.")]
    return extend_schema(summary=summary, description=description, responses=responses, parameters=parameters)


# --- Reference data -----------------------------------------------------------


class JurisdictionListApi(ReadApi):
    serializer_class = JurisdictionSerializer

    def get_queryset(self):
        return selectors.jurisdiction_list()

    @_read_schema(JurisdictionSerializer, summary="List jurisdictions", many=True)
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(JurisdictionSerializer)


class JurisdictionDetailApi(ReadApi):
    serializer_class = JurisdictionSerializer
    filter_backends: list = []
    lookup_field = "code"

    def get_queryset(self):
        return selectors.jurisdiction_list()

    @_read_schema(JurisdictionSerializer, summary="One jurisdiction, with its regulators", lookup="code")
    @conditional_get()
    def get(self, request: Request, code: str) -> Response:
        return Response(JurisdictionSerializer(self.get_object(), context=self.get_serializer_context()).data)


class TherapyListApi(ReadApi):
    serializer_class = TherapySerializer

    def get_queryset(self):
        return selectors.therapy_list()

    @_read_schema(TherapySerializer, summary="List therapies", many=True)
    @conditional_get()
    def get(self, request: Request) -> Response:
        return self.list_response(TherapySerializer)


class TherapyDetailApi(ReadApi):
    serializer_class = TherapySerializer
    filter_backends: list = []
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.therapy_list()

    @_read_schema(TherapySerializer, summary="One therapy", lookup="slug")
    @conditional_get()
    def get(self, request: Request, slug: str) -> Response:
        return Response(TherapySerializer(self.get_object(), context=self.get_serializer_context()).data)


class AccessProgrammeListApi(ReadApi):
    serializer_class = AccessProgrammeSerializer
    filterset_class = filters.AccessProgrammeFilter

    def get_queryset(self):
        return selectors.access_programme_list()

    @_read_schema(AccessProgrammeSerializer, summary="List access programmes", many=True,
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

    @_read_schema(AccessProgrammeSerializer, summary="One access programme", lookup="slug")
    @conditional_get()
    def get(self, request: Request, slug: str) -> Response:
        return Response(AccessProgrammeSerializer(self.get_object(), context=self.get_serializer_context()).data)


# --- Decisions ------------------------------------------------------------------

DECISIONS_DESCRIPTION = (
    "Published, amended, corrected and retracted decisions (retracted ones are marked so and no longer count "
    "for status). Editors also see drafts. Ordered by `-announced_on` unless `ordering` says otherwise, with "
    "the id breaking ties, so pages are stable. Unknown query parameters are a 400."
)


EDIT_RULES = (
    "A draft is edited silently. A published (or amended, or corrected) decision needs `change_kind` "
    "(`amend`: the facts moved on; `correct`: the record was wrong) and a public `note`; the edit records "
    "a Change that subscribers are told about. A retracted decision cannot be edited (409). Fields left out "
    "keep their values; `sources`, when given, replace all the sources."
)


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
