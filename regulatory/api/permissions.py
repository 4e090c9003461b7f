"""Who may do what through the API: anyone reads, only editors write."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from regulatory.editors import user_is_editor


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
