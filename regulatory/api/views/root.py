"""The API root and its JSON 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response


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
