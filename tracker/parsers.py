"""A JSON parser with a depth limit, for the anonymous subscriptions endpoint.

DRF's JSONParser lets the RecursionError of a deeply nested body (a thousand
"[" in a row) escape as a 500. Here any body nested deeper than MAX_DEPTH is
a 400 (ParseError), whether Python's decoder gave up on it or not; the
requests this endpoint accepts are two levels deep.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def _depth_exceeds(data: object, limit: int) -> bool:
    # Iterative, so that checking a deep value cannot itself recurse too deep.
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The C decoder checks the interpreter's recursion limit and raises
            # cleanly, so nothing is left half-done.
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.") from None
        if _depth_exceeds(data, self.max_depth):
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.")
        return data
