"""Guards in PostgreSQL for rules a check constraint cannot express: a
published decision always has a source (checked at commit, so a decision and
its sources can be written in any order), and a published decision is never
deleted. SQLite relies on the services, which enforce the same rules."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION regulatory_decision_needs_source() RETURNS trigger AS $$
DECLARE target_id bigint;
BEGIN
    IF TG_TABLE_NAME = 'regulatory_decision' THEN target_id := NEW.id; ELSE target_id := OLD.decision_id; END IF;
    IF EXISTS (SELECT 1 FROM regulatory_decision d WHERE d.id = target_id AND d.state <> 'draft')
       AND NOT EXISTS (SELECT 1 FROM regulatory_source s WHERE s.decision_id = target_id) THEN
        RAISE EXCEPTION 'published decision % has no source', target_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER decision_published_needs_source
    AFTER INSERT OR UPDATE OF state ON regulatory_decision
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION regulatory_decision_needs_source();
CREATE CONSTRAINT TRIGGER source_delete_keeps_decision_sourced
    AFTER DELETE OR UPDATE OF decision_id ON regulatory_source
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION regulatory_decision_needs_source();

CREATE OR REPLACE FUNCTION regulatory_decision_never_delete_published() RETURNS trigger AS $$
BEGIN
    IF OLD.state <> 'draft' THEN
        RAISE EXCEPTION 'published decision % cannot be deleted; retract it', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER decision_never_delete_published BEFORE DELETE ON regulatory_decision
    FOR EACH ROW EXECUTE FUNCTION regulatory_decision_never_delete_published();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS decision_never_delete_published ON regulatory_decision;
DROP FUNCTION IF EXISTS regulatory_decision_never_delete_published();
DROP TRIGGER IF EXISTS source_delete_keeps_decision_sourced ON regulatory_source;
DROP TRIGGER IF EXISTS decision_published_needs_source ON regulatory_decision;
DROP FUNCTION IF EXISTS regulatory_decision_needs_source();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("regulatory", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
