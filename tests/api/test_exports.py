"""/exports/decisions.csv, read by Python's csv module."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import DecisionFactory, JurisdictionFactory, SourceFactory, published_decision

pytestmark = pytest.mark.django_db
URL = "/exports/decisions.csv"


def _rows(client, **params) -> list[dict]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_it_serves_an_attachment_in_utf8_with_a_header_row(anon_client):
    published_decision()

    response = anon_client.get(URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert header[:3] == ["id", "url", "jurisdiction"]


def test_it_writes_one_row_per_public_decision(anon_client):
    decision = published_decision(title="Zulassung durch das BfArM – Übergangsregel")
    DecisionFactory()

    rows = _rows(anon_client)

    assert [(int(r["id"]), r["title"], r["state"]) for r in rows] == [
        (decision.pk, "Zulassung durch das BfArM – Übergangsregel", "published")
    ]


def test_it_lists_the_sources_in_one_cell(anon_client):
    decision = published_decision()
    SourceFactory(decision=decision, url="https://example.org/second", title="Second")

    (row,) = _rows(anon_client)

    assert row["sources"].count("\n") == 1
    assert "https://example.org/second" in row["sources"]


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("https://evil.example","click")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tindented",
        "\r=1",
    ],
)
def test_it_neutralises_cells_a_spreadsheet_would_execute(anon_client, dangerous):
    published_decision(title=dangerous, summary=dangerous)

    (row,) = _rows(anon_client)

    assert row["title"] == "'" + dangerous
    assert row["summary"] == "'" + dangerous


def test_it_leaves_ordinary_cells_alone(anon_client):
    published_decision(title="Approval (2024)")

    (row,) = _rows(anon_client)

    assert row["title"] == "Approval (2024)"
    assert row["announced_on"] == "2024-02-09"


def test_it_takes_the_api_filters(anon_client):
    wanted = published_decision(jurisdiction=JurisdictionFactory(code="us"))
    published_decision(jurisdiction=JurisdictionFactory(code="au"))

    assert [int(r["id"]) for r in _rows(anon_client, jurisdiction="us")] == [wanted.pk]


def test_it_answers_400_naming_the_parameter_of_a_bad_filter(anon_client):
    response = anon_client.get(URL, {"announced_after": "last year"})

    assert response.status_code == 400
    assert b"announced_after" in response.content
