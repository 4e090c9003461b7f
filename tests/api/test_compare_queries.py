"""The compare, record-time and history endpoints: a constant number of SQL
queries at two data sizes (the record of tests/api/test_queries.py), ETag /
304, and their place in the OpenAPI schema."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.api.test_queries import _record

pytestmark = pytest.mark.django_db

# Measured at 3 and at 30 decisions (each with three therapies and sources).
QUERIES = {
    # validator, jurisdictions, therapies (the two codes reused); per date the
    # nine queries of the cells; the decisions in between and their therapies;
    # the programmes.
    "/api/v1/status/changes/?from=2023-06-30&to=2024-09-01": 24,
    "/api/v1/status/changes/?from=2023-06-30&to=2024-09-01&jurisdiction=us,au&therapy=mdma-ptsd": 24,
    # + the first record; the Changes, once; per date the jurisdictions'
    # history, coverage, baselines (+ history), programmes (+ therapies,
    # history) and three source histories; programmes (+ history). The
    # decisions in between come from the Changes.
    "/api/v1/status/changes/?from=2023-06-30&to=2024-09-01&recorded_as_of=2029-12-31": 27,
    # validator, jurisdictions, therapies, the cells (nine).
    "/api/v1/status/?as_of=2024-09-01": 12,
    # + the first record; the Changes and the jurisdictions' history replace
    # control and stage; three histories replace the source counts, two more
    # for baselines and programmes.
    "/api/v1/status/?as_of=2024-09-01&recorded_as_of=2029-12-31": 15,
    "/api/v1/status/?recorded_as_of=2029-12-31T23:59": 15,
    # validator, the jurisdiction and therapy lookups, decisions, baseline, programmes.
    "/api/v1/status/history/?jurisdiction=au&therapy=mdma-ptsd": 6,
}


@pytest.fixture
def recorded_record():
    """The record, recorded in 2029 (so that record time has a past)."""

    def build(size: int) -> None:
        with time_machine.travel(dt.datetime(2029, 6, 1, tzinfo=dt.UTC), tick=False):
            _record(size)

    return build


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("url, expected", list(QUERIES.items()))
def test_it_runs_a_fixed_number_of_queries(
    anon_client, django_assert_num_queries, recorded_record, size, url, expected
):
    recorded_record(size)

    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        with django_assert_num_queries(expected):
            response = anon_client.get(url)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/status/changes/?from=2023-06-30&to=2024-09-01",
        "/api/v1/status/changes/?from=2023-06-30&to=2024-09-01&recorded_as_of=2029-12-31",
        "/api/v1/status/?recorded_as_of=2029-12-31",
        "/api/v1/status/history/?jurisdiction=au&therapy=mdma-ptsd",
        "/compare/?from=2023-06-30&to=2024-09-01",
        "/compare/?from=2023-06-30&to=2024-09-01&recorded_as_of=2029-12-31T10:00",
        "/?recorded_as_of=2029-12-31",
    ],
)
def test_it_answers_304_to_a_current_etag_with_one_query(anon_client, django_assert_num_queries, recorded_record, url):
    recorded_record(3)

    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        etag = anon_client.get(url)["ETag"]
        with django_assert_num_queries(1):
            response = anon_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_the_schema_documents_the_new_endpoints_and_record_time(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    changes = schema["paths"]["/api/v1/status/changes/"]["get"]
    history = schema["paths"]["/api/v1/status/history/"]["get"]
    status = schema["paths"]["/api/v1/status/"]["get"]
    assert {p["name"] for p in changes["parameters"]} >= {"from", "to", "recorded_as_of", "jurisdiction", "therapy"}
    assert {p["name"] for p in history["parameters"]} >= {"jurisdiction", "therapy"}
    assert "recorded_as_of" in {p["name"] for p in status["parameters"]}
    for operation in (changes, history):
        assert {"200", "304", "400"} <= set(operation["responses"])
    response = schema["components"]["schemas"]["ChangesResponse"]
    assert {"from", "to", "changed", "decisions", "programme_changes"} <= set(response["properties"])
    assert {"from", "to", "opened_by"} <= set(schema["components"]["schemas"]["Interval"]["properties"])
