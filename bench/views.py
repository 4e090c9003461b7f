"""The benchmark's baseline: a bare `JsonResponse` of a chosen size.

Every endpoint's throughput is reported as a ratio to this view serving a
body of the same number of bytes through the same middleware stack, so the
ratio isolates what the endpoint itself costs (queries, serialisation,
templates) from what any Django response costs. Mounted at /__bench__/ only
when settings.BENCH_ENABLED (env BENCH=1); see config/urls.py.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

# The JSON around the padding: {"p": "…"}.
ENVELOPE_BYTES = len('{"p": ""}')
# Far above any page the bench measures; stops a typo from allocating gigabytes.
MAX_SIZE = 64 * 1024 * 1024


@require_safe
def json_of_size(request: HttpRequest) -> JsonResponse:
    """A JSON body of exactly `size` bytes (`{}` when size is below the envelope)."""
    raw = request.GET.get("size", "0")
    if not raw.isdigit() or int(raw) > MAX_SIZE:
        return JsonResponse({"size": [f"must be a whole number of bytes between 0 and {MAX_SIZE}."]}, status=400)
    size = int(raw)
    if size < ENVELOPE_BYTES:
        return JsonResponse({})
    return JsonResponse({"p": "x" * (size - ENVELOPE_BYTES)})
