"""Conditional GETs for the API views (ETag / Last-Modified → 304, kept
bodies), on top of `regulatory.conditional`.

Two steps: `conditional_get` wraps a view method and computes the
validators after authentication (editors see drafts, so their ETags
differ); `PublicAnswerMixin.dispatch` answers a public reader's 304 or kept
body earlier still, before DRF's request wrapping, authentication and
content negotiation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from rest_framework.compat import split_header_value
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request

from regulatory import conditional
from regulatory.api.permissions import viewer_is_editor


def conditional_get(*, depends_on_today: bool = False) -> Callable:
    """Answer 304 when the client's copy is current. The validators are
    computed after authentication (editors see drafts, so their ETags differ)
    and before the view's own queries. Public readers' 304s and kept bodies
    are answered earlier still, before DRF's dispatch (`PublicAnswerMixin.dispatch`)."""

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


class PublicAnswerMixin(GenericAPIView):
    """For a view whose GET is wrapped in `conditional_get`: a public reader's
    304 or kept body without going through DRF."""

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
        headers = PublicAnswerMixin._default_headers_of.get(type(self))
        if headers is None:
            headers = []
            for key, value in self.default_response_headers.items():
                if key == "Vary":
                    headers += [("Vary", name) for name in split_header_value(value)
                                if name.lower() not in conditional.STAMPED_VARY]
                else:
                    headers.append((key, value))
            headers = PublicAnswerMixin._default_headers_of[type(self)] = tuple(headers)
        return headers
