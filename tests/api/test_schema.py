"""The OpenAPI schema, the interactive docs, and schemathesis driving every
read endpoint from the schema against the WSGI app."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from regulatory.models import AccessProgramme, DecisionKind, Precision, ProgrammeKind, ProgrammeState
from regulatory.services import decision_retract
from tests.factories import DecisionFactory, JurisdictionFactory, RegulatorFactory, TherapyFactory, published_decision

OUR_PATHS = r"^/api/v1/(decisions|jurisdictions|therapies|access-programmes|status)/"


def test_it_serves_an_openapi_3_schema_of_every_endpoint(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/decisions/",
        "/api/v1/decisions/{id}/",
        "/api/v1/decisions/{id}/publish/",
        "/api/v1/status/",
        "/api/v1/jurisdictions/",
        "/api/v1/jurisdictions/{code}/",
        "/api/v1/therapies/",
        "/api/v1/therapies/{slug}/",
        "/api/v1/access-programmes/",
        "/api/v1/access-programmes/{slug}/",
    } <= set(schema["paths"])


def test_it_documents_the_rules_for_editing_a_published_decision(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    patch = schema["paths"]["/api/v1/decisions/{id}/"]["patch"]
    assert "change_kind" in patch["description"]
    assert "409" in patch["responses"]


@pytest.mark.django_db
def test_it_serves_the_docs_from_the_projects_own_static_files(client):
    html = client.get("/api/v1/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the docs page references no assets"
    assert all(url.startswith("/static/") for url in assets), assets
    assert "//" not in "".join(a.removeprefix("/") for a in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url


@pytest.fixture
def wsgi_calls_keep_the_test_transaction():
    """Calls through the WSGI app end with request_finished, which closes the
    database connection, and the test's transaction with it. Django's own
    test client disconnects that handler for the duration of a request; do
    the same around the calls schemathesis makes."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_data(db, wsgi_calls_keep_the_test_transaction) -> None:
    """A small but varied record for schemathesis to read."""
    us, au = JurisdictionFactory(code="us"), JurisdictionFactory(code="au")
    eu = JurisdictionFactory(code="eu")
    JurisdictionFactory(code="de", parent=eu)
    RegulatorFactory(code="fda", jurisdiction=us)
    mdma, psilocybin = TherapyFactory(slug="mdma-ptsd"), TherapyFactory(slug="psilocybin-trd")
    published_decision(
        jurisdiction=us,
        therapies=[mdma],
        kind=DecisionKind.ACCEPTANCE,
        status="under_review",
        announced_on=dt.date(2024, 2, 9),
        target_on=dt.date(2024, 8, 1),
        target_precision=Precision.MONTH,
    )
    published_decision(
        jurisdiction=us,
        therapies=[mdma],
        kind=DecisionKind.REFUSAL,
        status="not_approved",
        announced_on=dt.date(2024, 8, 9),
        regulator=None,
    )
    retracted = published_decision(
        jurisdiction=au,
        therapies=[mdma, psilocybin],
        status="medical_use_permitted",
        announced_on=dt.date(2023, 2, 3),
        effective_on=dt.date(2023, 7, 1),
    )
    decision_retract(decision=retracted, note="Duplicate")
    DecisionFactory(jurisdiction=au)
    programme = AccessProgramme.objects.create(
        slug="au-ap",
        name="Authorised Prescriber",
        jurisdiction=au,
        kind=ProgrammeKind.AUTHORISED_PRESCRIBER,
        summary="…",
        state=ProgrammeState.OPEN,
        opened_on=dt.date(2023, 7, 1),
    )
    programme.therapies.set([mdma])


def _load_schema(mode: GenerationMode) -> schemathesis.BaseSchema:
    # Loaded when the module is collected: generating the schema reads no
    # database rows, and each generated test gets its data from `api_data`.
    # (schemathesis.pytest.from_fixture does not run under pytest 9.)
    from config.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    loaded.config.generation.update(modes=[mode])
    return loaded.include(method="GET", path_regex=OUR_PATHS)


# Schemathesis always asks for gzip and, on a WSGI app, reads the body as sent:
# public reads are compressed (config.middleware.GZipPublicMiddleware), so
# the fuzzing asks for them uncompressed (tests/test_compression.py checks gzip).
IDENTITY = {"Accept-Encoding": "identity"}
valid_reads = _load_schema(GenerationMode.POSITIVE)
invalid_reads = _load_schema(GenerationMode.NEGATIVE)
# Bounded: nine read operations × (a coverage phase + this many random
# examples) each, about ten seconds in all.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@valid_reads.parametrize()
@FUZZ
def test_it_answers_every_valid_read_as_its_schema_says(case, api_data):
    # The WSGI transport does not decode gzip (GZipPublicMiddleware answers
    # clients that accept it; tests/test_serving.py checks those bodies).
    case.call_and_validate(
        headers=IDENTITY,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


@invalid_reads.parametrize()
@settings(FUZZ, max_examples=50)
def test_it_answers_invalid_reads_without_a_server_error(case, api_data):
    case.call_and_validate(checks=[not_a_server_error])


def test_the_schema_answers_304_for_the_copy_the_client_has(client):
    json_type = "application/vnd.oai.openapi+json"
    first = client.get("/api/v1/schema/", HTTP_ACCEPT=json_type)

    again = client.get("/api/v1/schema/", HTTP_ACCEPT=json_type, HTTP_IF_NONE_MATCH=first["ETag"])
    since = client.get("/api/v1/schema/", HTTP_ACCEPT=json_type, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert "public" in first["Cache-Control"]
    assert (again.status_code, since.status_code) == (304, 304)


def test_the_schema_has_an_etag_per_format(client):
    as_json = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    as_yaml = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")

    assert as_json.content != as_yaml.content
    assert as_json["ETag"] != as_yaml["ETag"]


def test_the_schema_etag_does_not_move_with_the_record_but_with_the_settings(db, client, settings):
    first = client.get("/api/v1/schema/")["ETag"]
    DecisionFactory(title="A draft moves the record version")
    unchanged = client.get("/api/v1/schema/")["ETag"]
    settings.SPECTACULAR_SETTINGS = {**settings.SPECTACULAR_SETTINGS, "VERSION": "9.9.9"}
    changed = client.get("/api/v1/schema/")["ETag"]

    assert first == unchanged
    assert changed != first


def test_the_schema_is_kept_and_answered_from_the_kept_body(db, response_cache, client, django_assert_num_queries):
    first = client.get("/api/v1/schema/")

    with django_assert_num_queries(0):
        second = client.get("/api/v1/schema/")

    assert second.status_code == 200
    assert second.content == first.content
