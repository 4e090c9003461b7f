"""Request parsers for the API: the JSON, form and multipart parsers of DRF,
refusing with a 400 what no view could use, naming where it is:

- a string (value or key) with a character that cannot be stored (NUL, which
  PostgreSQL refuses in text, or a lone surrogate, which has no UTF-8);
- JSON nested deeper than MAX_DEPTH (Python's parser would recurse until a
  RecursionError, a 500);

(A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before, with a 413, by
config.middleware.UnstorableInputMiddleware.)
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from config.middleware import UNSTORABLE_MESSAGE, printable_name, unstorable

MAX_DEPTH = 32


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_document(document: Any) -> None:
    """Raise ParseError naming the first place (`sources[0].title`) where
    the parsed document holds something unusable. Iterative: a deep document
    must not recurse here either."""
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError({path or "body": [f"Nested deeper than {MAX_DEPTH} levels."]})
        if isinstance(value, str):
            if unstorable(value):
                raise ParseError({path or "body": [UNSTORABLE_MESSAGE]})
        elif isinstance(value, dict):
            for key, item in value.items():
                if unstorable(key):
                    raise ParseError({printable_name(_child(path, key)): [UNSTORABLE_MESSAGE]})
                stack.append((_child(path, key), item, depth + 1))
        elif isinstance(value, list):
            stack.extend((_child(path, i), item, depth + 1) for i, item in enumerate(value))


def check_form(data: Any) -> None:
    for name, values in data.lists():
        if unstorable(name) or any(isinstance(v, str) and unstorable(v) for v in values):
            raise ParseError({printable_name(name): [UNSTORABLE_MESSAGE]})


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            document = json.loads(raw.decode(encoding), parse_constant=self._refuse_constant)
        except RecursionError:
            raise ParseError({"body": [f"Nested deeper than {MAX_DEPTH} levels."]}) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_document(document)
        return document

    @staticmethod
    def _refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")


class SafeFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        check_form(data)
        return data


class SafeMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        check_form(result.data)
        return result
