"""/exports/decisions.csv: the public decisions as a spreadsheet.

Same filters as `GET /api/v1/decisions/` (unknown parameters are ignored,
bad values are a 400 naming the parameter). Cells a spreadsheet would run as
a formula are neutralised with a leading single quote (OWASP "CSV injection"):
the record quotes press releases and editors' notes, which anyone can write.
"""

from __future__ import annotations

import csv

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from regulatory import selectors
from regulatory.api.filters import DecisionFeedFilter
from regulatory.feeds import bad_request
from regulatory.httpcache import cached_read
from regulatory.models import Decision

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
