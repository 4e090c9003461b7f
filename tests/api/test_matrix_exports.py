"""/exports/matrix.csv and /exports/matrix.xlsx: the matrix as shown, with
what pins it (date shown, record time, dataset version, permalink) and a
citation line inside the file."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from openpyxl import load_workbook

from regulatory.models import DatasetRelease, Jurisdiction
from tests.pages.conftest import TODAY
from tests.pages.sample import decisions_add, sample_build

pytestmark = pytest.mark.django_db
CSV, XLSX = "/exports/matrix.csv", "/exports/matrix.xlsx"
# validator, therapies, jurisdictions, the cells (coverage, control, stage,
# baselines, programmes and their therapies, three source tables), the
# dataset version. No latest or upcoming lists in a file.
EXPORT_QUERIES = 13


@pytest.fixture
def sample(db, today):
    sample = sample_build()
    Jurisdiction.objects.filter(code="ch").update(name="Schweiz – Zürich")
    DatasetRelease.objects.create(version="2026.12.1", researched_on=today, loaded_at=timezone.now())
    return sample


@pytest.fixture
def today():
    with time_machine.travel(dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=dt.UTC), tick=False):
        yield TODAY


def _csv(content: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(the preamble as name -> value, the table's rows)."""
    text = content.decode("utf-8")
    head, _, table = text.partition("\r\n\r\n")
    preamble = dict(csv.reader(io.StringIO(head)))
    return preamble, list(csv.DictReader(io.StringIO(table)))


def test_the_csv_starts_with_what_pins_it_and_a_citation_line(anon_client, sample):
    response = anon_client.get(CSV, {"as_of": "2024-06-01"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="matrix-2024-06-01.csv"'
    preamble, _ = _csv(response.content)
    assert preamble["Status on"] == "2024-06-01"
    assert preamble["As recorded on"] == "2026-06-01T12:00 (UTC)"
    assert preamble["Dataset version"] == "2026.12.1"
    assert preamble["Permalink"] == f"{settings.SITE_URL}/?as_of=2024-06-01&recorded_as_of=2026-06-01T12:00"
    assert preamble["Cite as"].startswith("Psychedelic Therapy Regulatory Tracker. (2026, June 1). ")
    assert "(Version 2026.12.1) [Data set; as recorded on 1 June 2026, 12:00 UTC]" in preamble["Cite as"]


def test_the_csv_has_one_row_per_cell_with_its_dimensions(anon_client, sample):
    _, rows = _csv(anon_client.get(CSV, {"as_of": "2024-06-01"}).content)

    assert len(rows) == 5 * 2
    us = next(r for r in rows if (r["jurisdiction"], r["therapy"]) == ("us", "mdma-ptsd"))
    assert us["tone"] == "review"
    assert us["approval_stage"] == "Under review"
    assert us["control_instrument"] == "Schedule I, Controlled Substances Act"
    assert "EA protocol" in us["access_routes"]
    assert us["url"].startswith(f"{settings.SITE_URL}/decisions/")
    de = next(r for r in rows if r["jurisdiction"] == "de")
    assert de["parent"] == "eu"


def test_the_csv_keeps_the_matrix_filters_and_names_the_record_time_asked_for(anon_client, sample):
    preamble, rows = _csv(
        # Today (the sample is recorded at noon on 1 June 2026, the frozen clock): an earlier record time
        # would be a 400, nothing being on record yet.
        anon_client.get(CSV, {"jurisdiction": "eu", "members": "0", "recorded_as_of": "2026-06-01"}).content
    )

    assert {(r["jurisdiction"], r["therapy"]) for r in rows} == {("eu", "mdma-ptsd"), ("eu", "psilocybin-trd")}
    assert preamble["As recorded on"] == "2026-06-01 (UTC)"
    assert preamble["Permalink"].endswith("/?as_of=2026-06-01&jurisdiction=eu&members=0&recorded_as_of=2026-06-01")


def test_the_csv_for_excel_starts_with_a_byte_order_mark_and_keeps_accents(anon_client, sample):
    plain = anon_client.get(CSV).content
    excel = anon_client.get(CSV, {"bom": "1"}).content

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf")
    assert "Schweiz – Zürich".encode() in excel
    _, rows = _csv(excel.removeprefix(b"\xef\xbb\xbf"))
    assert "Schweiz – Zürich" in {r["jurisdiction_name"] for r in rows}


def test_the_xlsx_opens_with_openpyxl_and_carries_the_citation_line(anon_client, sample):
    response = anon_client.get(XLSX, {"as_of": "2024-06-01", "therapy": "mdma-ptsd"})

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="matrix-2024-06-01.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Cells", "Matrix"]
    for sheet in workbook:
        preamble = {sheet.cell(row, 1).value: sheet.cell(row, 2).value for row in range(1, 7)}
        assert preamble["Status on"] == "2024-06-01"
        assert preamble["Dataset version"] == "2026.12.1"
        assert preamble["As recorded on"] == "2026-06-01T12:00 (UTC)"
        assert preamble["Cite as"].startswith("Psychedelic Therapy Regulatory Tracker. (2026, June 1). ")
        assert preamble["Cite as"].endswith("/?as_of=2024-06-01&therapy=mdma-ptsd&recorded_as_of=2026-06-01T12:00")
    assert workbook.properties.description.startswith("Cite as: Psychedelic Therapy Regulatory Tracker.")
    assert workbook.properties.version == "2026.12.1"


def test_the_xlsx_holds_each_cell_and_the_grid_of_headlines(anon_client, sample):
    workbook = load_workbook(io.BytesIO(anon_client.get(XLSX, {"as_of": "2024-06-01"}).content))

    cells = workbook["Cells"]
    header = [c.value for c in cells[8]]
    assert header[:3] == ["jurisdiction", "jurisdiction_name", "parent"]
    records = [dict(zip(header, (c.value for c in row), strict=True)) for row in cells.iter_rows(min_row=9)]
    assert len(records) == 10
    assert "Schweiz – Zürich" in {r["jurisdiction_name"] for r in records}
    grid = workbook["Matrix"]
    assert [c.value for c in grid[8]] == [
        "Jurisdiction",
        "MDMA-assisted therapy for PTSD",
        "Psilocybin therapy for treatment-resistant depression",
    ]
    us = next(row for row in grid.iter_rows(min_row=9, values_only=True) if row[0] == "United States")
    assert us[1].startswith("Under review · Schedule I")
    assert "↳ Germany" in {row[0] for row in grid.iter_rows(min_row=9, values_only=True)}


def test_the_xlsx_never_stores_text_as_a_formula(anon_client, sample):
    Jurisdiction.objects.filter(code="ch").update(name='=HYPERLINK("https://evil.example","x")')

    workbook = load_workbook(io.BytesIO(anon_client.get(XLSX).content))

    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate


@pytest.mark.parametrize("url", [CSV, XLSX])
def test_the_exports_answer_304_to_their_etag(anon_client, sample, url):
    etag = anon_client.get(url, {"as_of": "2024-06-01"})["ETag"]

    assert anon_client.get(url, {"as_of": "2024-06-01"}, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize("url", [CSV, XLSX])
def test_the_exports_run_the_same_number_of_queries_whatever_the_size_of_the_record(
    anon_client, sample, url, django_assert_num_queries
):
    with django_assert_num_queries(EXPORT_QUERIES):
        small = anon_client.get(url, {"as_of": "2024-06-01"})
    decisions_add(30)
    with django_assert_num_queries(EXPORT_QUERIES):
        large = anon_client.get(url, {"as_of": "2024-06-02"})

    assert len(large.content) > len(small.content)


@pytest.mark.parametrize(
    "url, query, param",
    [
        (CSV, {"bom": "yes"}, "bom"),
        (CSV, {"as_of": "2024-13-01"}, "as_of"),
        (CSV, {"jurisdiction": "xx"}, "jurisdiction"),
        (XLSX, {"therapy": "lsd-anxiety"}, "therapy"),
        (XLSX, {"members": "2"}, "members"),
        (XLSX, {"recorded_as_of": "2999-01-01"}, "recorded_as_of"),
        (XLSX, {"as_of": "1899-12-31"}, "as_of"),
    ],
)
def test_the_exports_answer_bad_input_with_a_400_naming_the_parameter(anon_client, sample, url, query, param):
    response = anon_client.get(url, query)

    assert response.status_code == 400
    assert response.content.decode().splitlines()[1].startswith(f"{param}: ")
