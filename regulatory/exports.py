"""/exports/decisions.csv: the public decisions as a spreadsheet; and
/exports/matrix.csv and /exports/matrix.xlsx: the matrix as shown, citing
itself (see the block at the end).

Same filters as `GET /api/v1/decisions/` (unknown parameters are ignored,
bad values are a 400 naming the parameter). Cells a spreadsheet would run as
a formula are neutralised with a leading single quote (OWASP "CSV injection"):
the record quotes press releases and editors' notes, which anyone can write.
"""

from __future__ import annotations

import csv

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from regulatory import selectors
from regulatory.api.filters import DecisionFeedFilter, LenientForm
from regulatory.feeds import bad_request
from regulatory.httpcache import cached_read
from regulatory.models import Decision
from regulatory.pages import cite, parameters
from regulatory.pages import matrix as matrix_page

COLUMNS = (
    "id",
    "url",
    "jurisdiction",
    "regulator",
    "therapies",
    "kind",
    "title",
    "summary",
    "announced_on",
    "announced_precision",
    "effective_on",
    "effective_precision",
    "target_on",
    "target_precision",
    "substance",
    "control",
    "control_instrument",
    "approval_stage",
    "state",
    "verified",
    "verification_note",
    "recorded_at",
    "imported",
    "researched_on",
    "sources",
)
# Leading characters that make Excel, LibreOffice or Google Sheets evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet will execute."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def decision_row(decision: Decision) -> list[str]:
    sources = "\n".join(
        f"{s.title} ({s.publisher}, {s.get_grade_display().lower()}) {s.url}" for s in decision.sources.all()
    )
    values = (
        decision.pk,
        selectors.decision_page_url(decision.pk),
        decision.jurisdiction.code,
        decision.regulator.code if decision.regulator else "",
        " ".join(t.slug for t in decision.therapies.all()),
        decision.kind,
        decision.title,
        decision.summary,
        decision.announced_on.isoformat(),
        decision.announced_precision,
        decision.effective_on.isoformat() if decision.effective_on else "",
        decision.effective_precision,
        decision.target_on.isoformat() if decision.target_on else "",
        decision.target_precision,
        decision.substance,
        decision.control,
        decision.control_instrument,
        decision.approval_stage,
        decision.state,
        "yes" if decision.verified else "no",
        decision.verification_note,
        decision.recorded_at.isoformat() if decision.recorded_at else "",
        "yes" if getattr(decision, "imported", False) else "no",
        decision.researched_on.isoformat() if decision.researched_on else "",
        sources,
    )
    return [csv_cell(value) for value in values]


@require_safe
@cached_read(params=[DecisionFeedFilter])
def decisions_csv(request: HttpRequest) -> HttpResponse:
    filterset = DecisionFeedFilter(request.GET, queryset=selectors.decision_list_api())
    if not filterset.is_valid():
        return bad_request(filterset.errors)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="decisions.csv"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    writer.writerows(decision_row(decision) for decision in filterset.qs)
    return response


# --- The matrix as a file that cites (issue 10, "exports") -------------------
#
# /exports/matrix.csv and /exports/matrix.xlsx take the matrix's own
# parameters (as_of, recorded_as_of, jurisdiction, therapy, members; CSV also
# bom=1), so the export links on the page give the very view shown. Each file
# starts with what pins it (the date shown, the record time, the dataset
# version, the permalink and a citation line), then a blank row, then one row
# per (jurisdiction, therapy) cell. The XLSX adds a second sheet with the
# matrix as a grid of headlines.

MATRIX_COLUMNS = (
    "jurisdiction",
    "jurisdiction_name",
    "parent",
    "therapy",
    "therapy_name",
    "headline",
    "tone",
    "control",
    "control_instrument",
    "control_since",
    "approval_stage",
    "approval_stage_since",
    "access_routes",
    "certain",
    "best_source_grade",
    "sources",
    "unverified",
    "reviewed_to",
    "stale",
    "url",
)


def _matrix_cell_values(row: matrix_page.MatrixRow, cell: matrix_page.MatrixCell) -> tuple:
    from regulatory.models import Precision, format_partial_date

    jurisdiction, state = row.jurisdiction, cell.cell
    control, stage = state.control, state.approval_stage
    values = (
        jurisdiction.code,
        jurisdiction.name,
        jurisdiction.parent.code if jurisdiction.parent_id and jurisdiction.parent else "",
        cell.therapy.slug,
        cell.therapy.name,
        state.headline,
        cell.tone,
        control.label if control else "",
        control.instrument if control else "",
        control.since_display if control else "",
        stage.label if stage else "",
        stage.since_display if stage else "",
        "; ".join(route.label for route in state.access),
        "yes" if state.certain else "no",
        state.provenance.label,
        state.provenance.sources,
        "yes" if state.provenance.unverified else "no",
        format_partial_date(jurisdiction.reviewed_to, Precision.DAY),
        "yes" if state.stale else "no",
        f"{settings.SITE_URL}{cell.url}" if state.state == "recorded" else "",
    )
    return values


def _matrix_preamble(citation: cite.Citation) -> list[tuple[str, str]]:
    return [
        ("Title", citation.title),
        ("Status on", citation.as_of.isoformat() if citation.as_of else ""),
        ("As recorded on", f"{citation.recorded_as_of} (UTC)"),
        ("Dataset version", citation.release.version if citation.release else "none loaded"),
        ("Permalink", citation.permalink),
        ("Cite as", citation.apa),
    ]


def _matrix_for_export(request: HttpRequest):
    """(matrix, citation) for the request, or a BadParameter."""
    today = timezone.localdate()
    from regulatory.pages import compare as compare_page

    params = parameters.matrix_filters_parse(request.GET)
    # In record time the file holds the matrix as the tracker showed it then (as the page does).
    recorded = compare_page.recorded_param_parse(request.GET)
    as_of = params.as_of or (recorded.date if recorded else today)
    matrix = matrix_page.matrix_build(
        as_of=as_of, today=today, filters=params, upcoming_limit=0, latest_limit=0, recorded=recorded
    )
    citation = cite.matrix_citation(params=params, as_of=as_of, today=today, release=cite.dataset_release_current())
    return matrix, citation


def _filename(citation: cite.Citation, extension: str) -> str:
    return f"matrix-{citation.as_of.isoformat() if citation.as_of else 'today'}.{extension}"


class _BomForm(LenientForm):
    bom = forms.ChoiceField(required=False, choices=[("", ""), ("0", "0"), ("1", "1")])


@require_safe
@cached_read(depends_on_today=True)
def matrix_csv(request: HttpRequest) -> HttpResponse:
    bom = _BomForm(request.GET)
    if not bom.is_valid():
        return bad_request({"bom": ["use bom=1 for a byte-order mark (Excel), bom=0 or nothing for none."]})
    try:
        matrix, citation = _matrix_for_export(request)
    except parameters.BadParameter as error:
        return bad_request({error.param: [error.message]})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(citation, "csv")}"'
    if bom.cleaned_data["bom"] == "1":
        # Excel reads a CSV without one in the local code page: "Zürich" would
        # come out as "ZÃ¼rich".
        response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerows([csv_cell(name), csv_cell(value)] for name, value in _matrix_preamble(citation))
    writer.writerow([])
    writer.writerow(MATRIX_COLUMNS)
    writer.writerows(
        [csv_cell(value) for value in _matrix_cell_values(row, cell)] for row in matrix.rows for cell in row.cells
    )
    return response


@require_safe
@cached_read(depends_on_today=True)
def matrix_xlsx(request: HttpRequest) -> HttpResponse:
    try:
        matrix, citation = _matrix_for_export(request)
    except parameters.BadParameter as error:
        return bad_request({error.param: [error.message]})
    response = HttpResponse(
        matrix_workbook(matrix, citation),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(citation, "xlsx")}"'
    return response


def matrix_workbook(matrix: matrix_page.Matrix, citation: cite.Citation) -> bytes:
    """The XLSX: sheet "Cells" (the preamble, then one row per cell, as the
    CSV) and sheet "Matrix" (the preamble, then jurisdictions × therapies
    headlines). The citation is also in the workbook's properties."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    bold = Font(bold=True)

    def put(sheet, row: int, column: int, value: object, *, font=None):
        cell = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula (the CSV's guard, for XLSX)
        if font is not None:
            cell.font = font
        return cell

    def preamble(sheet) -> int:
        for index, (name, value) in enumerate(_matrix_preamble(citation), start=1):
            put(sheet, index, 1, name, font=bold)
            put(sheet, index, 2, value)
        return len(_matrix_preamble(citation)) + 2

    cells = workbook.active
    cells.title = "Cells"
    first = preamble(cells)
    for column, name in enumerate(MATRIX_COLUMNS, start=1):
        put(cells, first, column, name, font=bold)
    row_number = first
    for row in matrix.rows:
        for cell in row.cells:
            row_number += 1
            for column, value in enumerate(_matrix_cell_values(row, cell), start=1):
                put(cells, row_number, column, value)
    cells.freeze_panes = cells.cell(row=first + 1, column=1)

    grid = workbook.create_sheet("Matrix")
    first = preamble(grid)
    put(grid, first, 1, "Jurisdiction", font=bold)
    for column, therapy in enumerate(matrix.therapies, start=2):
        put(grid, first, column, therapy.name, font=bold)
        grid.column_dimensions[grid.cell(row=first, column=column).column_letter].width = 38
    grid.column_dimensions["A"].width = 28
    wrap = Alignment(wrap_text=True, vertical="top")
    for offset, row in enumerate(matrix.rows, start=1):
        name = ("↳ " if row.depth else "") + row.jurisdiction.name
        put(grid, first + offset, 1, name, font=bold)
        for column, cell in enumerate(row.cells, start=2):
            text = cell.cell.headline + ("" if cell.cell.certain else " (not yet certain)")
            put(grid, first + offset, column, text).alignment = wrap

    workbook.properties.title = citation.title
    workbook.properties.creator = citation.author
    workbook.properties.description = citation.file_line
    workbook.properties.identifier = citation.permalink
    if citation.release:
        workbook.properties.version = citation.release.version
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
