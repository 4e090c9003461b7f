"""Who may do what through the API: anyone reads, only editors write."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from regulatory.editors import user_is_editor

# The answer for each live request, so that the permission check, the queryset
# and the serializer ask the database once; an entry goes with its request.
_editor_by_request: WeakKeyDictionary[Request, bool] = WeakKeyDictionary()


def viewer_is_editor(request: Request) -> bool:
    """Whether the reader is an editor (may see drafts, may write); asked once per request."""
    answer = _editor_by_request.get(request)
    if answer is None:
        answer = _editor_by_request[request] = user_is_editor(request.user)
    return answer


class IsEditorOrReadOnly(BasePermission):
    """Anyone reads; only editors write. Anonymous writers get a 401 (DRF
    asks for credentials when none were given), other users a 403."""

    message = "Only editors may change the regulatory record."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or viewer_is_editor(request)
