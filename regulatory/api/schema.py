"""What the OpenAPI schema says about the API beyond what drf-spectacular
infers: error shapes, path parameters, the descriptions of the decision
endpoints, and that reads need no credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import SAFE_METHODS

from regulatory.api.serializers import ErrorSerializer

# The largest id a BIGINT primary key can hold: a larger one in a URL is a
# 404, not a database overflow error.
MAX_ID = 2**63 - 1

# Error shapes.
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
UNAUTHENTICATED = OpenApiResponse(
    response=ErrorSerializer, description="No credentials: send `Authorization: Token …`."
)
FORBIDDEN = OpenApiResponse(response=ErrorSerializer, description="Not an editor.")
CONFLICT = OpenApiResponse(
    response=ErrorSerializer,
    description=(
        "The decision is not in a state that allows this, or it has changed since the `version` the edit was "
        "based on (someone else's edit would be undone): GET it again and make the edit on the current version."
    ),
)
PRECONDITION_FAILED = OpenApiResponse(
    response=ErrorSerializer, description="If-Match does not name the decision's current ETag."
)


def path_param(name: str, schema: dict, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description)


IF_MATCH_PARAM = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of your GET of the decision (same Accept): the write is refused with 412 if the "
    "decision's current ETag differs. The ETag moves with any write to the record.",
)
ID_PARAM = path_param("id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The decision's id.")
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"

DECISIONS_DESCRIPTION = (
    "Published, amended, corrected and retracted decisions (retracted ones are marked so and no longer count "
    "for status). Editors also see drafts. Ordered by `-announced_on` unless `ordering` says otherwise, with "
    "the id breaking ties, so pages are stable. Unknown query parameters are a 400."
)

EDIT_RULES = (
    "A draft is edited silently. A published (or amended, or corrected) decision needs `change_kind` "
    "(`amend`: the facts moved on; `correct`: the record was wrong) and a public `note`; the edit records "
    "a Change that subscribers are told about. A retracted decision cannot be edited (409). Fields left out "
    "keep their values; `sources`, when given, replace all the sources. The slug never changes once "
    "published. Send the `version` your edit is based on (from a GET), or the GET's ETag in `If-Match`: "
    "if the decision has changed since, the edit is refused (409, or 412 for If-Match) instead of silently "
    "undoing the other edit."
)


class ApiSchema(AutoSchema):
    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        # Reads need no credentials (IsEditorOrReadOnly): say so in the schema.
        if self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths


def read_schema(
    serializer: Any, *, summary: str, description: str = "", many: bool = False, lookup: str | None = None
) -> Callable:
    """Schema of a read endpoint: a list (many) or a detail found by `lookup`."""
    if many:
        responses = {200: serializer(many=True), 304: NOT_MODIFIED, 400: FIELD_ERRORS}
        parameters = []
    else:
        responses = {200: serializer, 304: NOT_MODIFIED, 404: NOT_FOUND}
        assert lookup is not None  # a detail is found by its lookup
        parameters = [path_param(lookup, {"type": "string", "pattern": SLUG_PATTERN}, f"The {lookup}.")]
    return extend_schema(summary=summary, description=description, responses=responses, parameters=parameters)
