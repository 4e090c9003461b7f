"""A GIN index for the full-text search of decisions (PostgreSQL only).

The expression is the one Django compiles for
`SearchVector("title", "summary", "control_instrument", "substance",
config="english")` (regulatory/search.py, DECISION_FIELDS), so the planner
can use it for `/search/` and the API's `q`. SQLite searches by substring
and gets no index. Spelled out here, not imported, so the migration stays
as it was when it ran."""

from django.db import migrations

INDEX = "regulatory_decision_search"
FORWARD = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON regulatory_decision USING GIN ("
    "to_tsvector('english'::regconfig, "
    "COALESCE(\"title\", '') || ' ' || COALESCE(\"summary\", '') || ' ' || "
    "COALESCE(\"control_instrument\", '') || ' ' || COALESCE(\"substance\", '')))"
)
BACKWARD = f"DROP INDEX IF EXISTS {INDEX}"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("regulatory", "0010_record_date_range")]
    operations = [migrations.RunPython(forward, backward)]
