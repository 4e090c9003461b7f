"""Integrity of the record (issue 12): a version per decision for optimistic
concurrency (checked by the services' UPDATE), sources cited by http(s) URLs
only, no jurisdiction its own parent, and (PostgreSQL) a published
decision's slug never changes, whoever writes."""

import django.core.validators
from django.db import migrations, models

SLUG_FIXED = """
CREATE OR REPLACE FUNCTION regulatory_decision_slug_fixed() RETURNS trigger AS $$
BEGIN
    IF OLD.state <> 'draft' AND NEW.slug IS DISTINCT FROM OLD.slug THEN
        RAISE EXCEPTION 'the slug of published decision % cannot change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER decision_slug_fixed BEFORE UPDATE OF slug ON regulatory_decision
    FOR EACH ROW EXECUTE FUNCTION regulatory_decision_slug_fixed();
"""
SLUG_FIXED_BACKWARD = """
DROP TRIGGER IF EXISTS decision_slug_fixed ON regulatory_decision;
DROP FUNCTION IF EXISTS regulatory_decision_slug_fixed();
"""


def slug_fixed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SLUG_FIXED, params=None)


def slug_fixed_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SLUG_FIXED_BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('regulatory', '0005_source_link_check'),
    ]

    operations = [
        migrations.AddField(
            model_name='decision',
            name='version',
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.AddField(
            model_name='historicaldecision',
            name='version',
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.AlterField(
            model_name='historicalprogrammesource',
            name='archived_url',
            field=models.URLField(blank=True, help_text='An archived copy, e.g. on the Wayback Machine.', max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='historicalprogrammesource',
            name='url',
            field=models.URLField(max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='historicalsource',
            name='archived_url',
            field=models.URLField(blank=True, help_text='An archived copy, e.g. on the Wayback Machine.', max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='historicalsource',
            name='url',
            field=models.URLField(max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='programmesource',
            name='archived_url',
            field=models.URLField(blank=True, help_text='An archived copy, e.g. on the Wayback Machine.', max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='programmesource',
            name='url',
            field=models.URLField(max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='source',
            name='archived_url',
            field=models.URLField(blank=True, help_text='An archived copy, e.g. on the Wayback Machine.', max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AlterField(
            model_name='source',
            name='url',
            field=models.URLField(max_length=1000, validators=[django.core.validators.URLValidator(message='Enter a web address starting with http:// or https://.', schemes=['http', 'https'])]),
        ),
        migrations.AddConstraint(
            model_name='jurisdiction',
            constraint=models.CheckConstraint(condition=models.Q(('parent__isnull', True), models.Q(('parent', models.F('id')), _negated=True), _connector='OR'), name='jurisdiction_not_own_parent', violation_error_message='A jurisdiction cannot be its own parent.'),
        ),
        migrations.RunPython(slug_fixed, slug_fixed_backward),
    ]
