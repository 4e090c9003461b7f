"""Tell listeners when the record version may have moved (PostgreSQL only).

Statement-level triggers on exactly the tables `selectors.record_version()`
reads call `pg_notify` on every INSERT, UPDATE, DELETE and TRUNCATE. NOTIFY
is delivered after commit, and only then, so regulatory/version.py can keep
the version in memory and drop it when one arrives. Same-payload
notifications within one transaction are folded into one by PostgreSQL.
SQLite has no NOTIFY: there the version is queried on every read."""

from django.db import migrations

CHANNEL = "regulatory_record_version"
# Must match selectors._versioned_models() and the Change table; a test checks.
TABLES = [
    "regulatory_change",
    "regulatory_historicaldecision",
    "regulatory_historicalsource",
    "regulatory_historicaljurisdiction",
    "regulatory_historicalregulator",
    "regulatory_historicaltherapy",
    "regulatory_historicalaccessprogramme",
    "regulatory_historicalprogrammesource",
]

FUNCTION = f"""
CREATE OR REPLACE FUNCTION regulatory_record_version_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


def _trigger(table: str) -> str:
    return (f"CREATE TRIGGER record_version_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION regulatory_record_version_notify();")


FORWARD = FUNCTION + "\n".join(_trigger(table) for table in TABLES)
BACKWARD = "\n".join(f"DROP TRIGGER IF EXISTS record_version_notify ON {table};" for table in TABLES) + (
    "\nDROP FUNCTION IF EXISTS regulatory_record_version_notify();"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("regulatory", "0003_programme_verification_note")]
    operations = [migrations.RunPython(forward, backward)]
