"""What drf-spectacular cannot infer, added to the OpenAPI schema
(SPECTACULAR_SETTINGS' postprocessing hooks):

- links between the decision operations: the id a create (or any answer
  with a decision) returns is the `id` of the detail, edit and publish
  operations; clients and generated tests (schemathesis' stateful run)
  follow them from a new draft to its edits and its publication;
- that a decision write takes no other keys than its fields and the output's
  read-only ones (DecisionWriteSerializer refuses any other with a 400)."""

from __future__ import annotations

from typing import Any

DETAIL = "/api/v1/decisions/{id}/"
PUBLISH = "/api/v1/decisions/{id}/publish/"
# (path, method) of each operation answering with a decision, and its status.
SOURCES = [
    ("/api/v1/decisions/", "post", "201"),
    (DETAIL, "get", "200"),
    (DETAIL, "put", "200"),
    (DETAIL, "patch", "200"),
    (PUBLISH, "post", "200"),
]
TARGETS = {
    "GetDecision": (DETAIL, "get"),
    "ReplaceDecision": (DETAIL, "put"),
    "EditDecision": (DETAIL, "patch"),
    "PublishDecision": (PUBLISH, "post"),
}


# The output's keys that a write may send back unchanged (ignored).
READ_ONLY_KEYS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer"},
    "url": {"type": "string", "format": "uri"},
    "slug": {"type": "string"},
    "state": {"type": "string"},
    "published_at": {"type": "string", "format": "date-time", "nullable": True},
    "recorded_at": {"type": "string", "format": "date-time", "nullable": True},
}


def decision_write_closed(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("DecisionWrite", "PatchedDecisionWrite"):
        if name in schemas:
            component = schemas[name]
            for key, schema in READ_ONLY_KEYS.items():
                component["properties"].setdefault(
                    key,
                    {**schema, "readOnly": True, "description": "Ignored: the output's own value may be sent back."},
                )
            component["additionalProperties"] = False
    return result


def decision_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    paths = result.get("paths", {})
    targets = {
        name: paths[path][method]["operationId"]
        for name, (path, method) in TARGETS.items()
        if method in paths.get(path, {})
    }
    for path, method, status in SOURCES:
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {
                "operationId": operation_id,
                "parameters": {"id": "$response.body#/id"},
                "description": "The decision this answer describes.",
            }
            for name, operation_id in targets.items()
        }
    return result
