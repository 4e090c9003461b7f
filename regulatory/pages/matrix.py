"""The status matrix on the home page: one row per jurisdiction, one cell per
therapy in three dimensions (README "Status, in three dimensions"), with what
is coming up and what happened last, both seen from the date shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from regulatory.models import (
    APPROVAL_STAGE_DESCRIPTIONS,
    CONTROL_DESCRIPTIONS,
    LIVE_STATES,
    STALE_AFTER_DAYS,
    ApprovalStage,
    Control,
    Decision,
    Jurisdiction,
    Precision,
    Therapy,
    format_partial_date,
)
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.parameters import MatrixParams
from regulatory.selectors import (
    TONE_LABELS,
    TONE_ORDER,
    Cell,
    decision_list_for_therapies,
    upcoming_dates,
)


@dataclass(frozen=True)
class Dimension:
    name: str
    text: str


@dataclass(frozen=True)
class MatrixCell:
    therapy: Therapy
    cell: Cell

    @property
    def tone(self) -> str:
        return self.cell.tone

    @property
    def links_programme(self) -> bool:
        return self.cell.decision_id is None and self.cell.control is None and bool(self.cell.access)

    @property
    def url(self) -> str:
        """The decision behind the latest dimension, else the first route's programme page."""
        if self.cell.decision_id:
            return reverse("regulatory-decision", args=[self.cell.decision_id])
        if self.cell.control and self.cell.control.decision_id:
            return reverse("regulatory-decision", args=[self.cell.control.decision_id])
        if self.cell.access:
            return f"{reverse('regulatory-programmes')}#programme-{self.cell.access[0].slug}"
        return f"{reverse('regulatory-programmes')}"

    @property
    def dimensions(self) -> list[Dimension]:
        cell, out = self.cell, []
        if cell.approval_stage:
            out.append(Dimension("Stage", f"{cell.approval_stage.label} since {cell.approval_stage.since_display}"))
        if cell.control:
            since = cell.control.since_display
            out.append(
                Dimension(
                    "Control",
                    f"{cell.control.instrument} ({cell.control.label.lower()}), "
                    f"{'since ' + since if cell.control.since else since}",
                )
            )
        for route in cell.access:
            scale = f", {route.scale}" if route.scale else ""
            opened = f" from {format_partial_date(route.opened_on, route.opened_precision)}" if route.opened_on else ""
            out.append(Dimension("Access", f"{route.kind_label}: {route.state_label}{opened}{scale}"))
        return out


@dataclass(frozen=True)
class MatrixRow:
    jurisdiction: Jurisdiction
    depth: int
    cells: list[MatrixCell]
    stale: bool

    @property
    def reviewed_display(self) -> str:
        return format_partial_date(self.jurisdiction.reviewed_to, Precision.DAY)


@dataclass(frozen=True)
class UpcomingItem:
    date: dt.date
    date_display: str
    what: str  # "Target date" or "Takes effect"
    decision: Decision


@dataclass
class Matrix:
    as_of: dt.date
    today: dt.date
    therapies: list[Therapy]
    rows: list[MatrixRow]
    upcoming: list[UpcomingItem]
    latest: list[Decision]

    @property
    def is_today(self) -> bool:
        return self.as_of == self.today

    @property
    def counts(self) -> dict[str, int]:
        counts = {tone: 0 for tone in TONE_ORDER}
        for row in self.rows:
            for cell in row.cells:
                counts[cell.tone] += 1
        return counts


TONE_DESCRIPTIONS: dict[str, str] = {
    "approved": "The therapy is approved for marketing for this indication.",
    "access": "At least one access route is open and not capped (e.g. authorised prescribers).",
    "permitted": "The control of the substance permits medical use here (e.g. a Schedule 8 entry, a legal exception).",
    "review": "A marketing application is being assessed.",
    "refused": "The regulator refused the application, or it was withdrawn.",
    "investigational": "In clinical development; any route is capped, closed or of unknown state.",
    "prohibited": "Controlled with no accepted medical use, and no other dimension above applies.",
    "uncontrolled": "Not a controlled substance here; nothing else recorded.",
    "none": "Researched: no decision recorded up to the review date.",
    "not_researched": "Nothing was researched for this therapy here: absence of a decision means nothing.",
}

ROUTE_STATE_DESCRIPTIONS = [
    ("open", "Taking patients on the date shown."),
    (
        "capped",
        "Open, but enrolment is capped at a fixed number (e.g. a sponsor protocol for 50 patients): "
        "never shown in the access colour.",
    ),
    ("closed", "Closed on its closing date."),
    ("closed, date unknown", "Known to have closed; the date was not found."),
    (
        "unknown after <date>",
        "Known open until that date; its state after it was not found, so it is not shown as open.",
    ),
]


def status_legend() -> dict[str, list[dict[str, str]]]:
    return {
        "tones": [{"tone": t, "label": TONE_LABELS[t], "description": TONE_DESCRIPTIONS[t]} for t in TONE_ORDER],
        "controls": [{"value": c.value, "label": c.label, "description": CONTROL_DESCRIPTIONS[c]} for c in Control],
        "stages": [
            {"value": s.value, "label": s.label, "description": APPROVAL_STAGE_DESCRIPTIONS[s]} for s in ApprovalStage
        ],
        "routes": [{"label": label, "description": text} for label, text in ROUTE_STATE_DESCRIPTIONS],
    }


def matrix_build(
    *,
    as_of: dt.date,
    today: dt.date,
    upcoming_limit: int = 6,
    latest_limit: int = 5,
    filters: MatrixParams | None = None,
    recorded=None,
) -> Matrix:
    """The matrix on `as_of`, with what was latest on that date and what was
    coming up from it. A fixed number of queries whatever the size of the data.
    With `filters` (the page's parameters, which fetched the therapies and
    jurisdictions already), only the rows and columns they keep, and the
    latest and coming-up lists narrowed to the same scope. With `recorded`
    (a `record_time.RecordTime`), as the tracker showed it then."""
    from regulatory import record_time
    from regulatory.selectors import therapy_list

    if filters is not None:
        therapies, jurisdictions = filters.therapies_shown, filters.jurisdictions_shown
    else:
        therapies = list(therapy_list())
        jurisdictions = list(Jurisdiction.objects.select_related("parent").order_by("position", "code"))
    narrowed = filters is not None and filters.filtering
    cells = record_time.status_grid(
        as_of=as_of, jurisdictions=jurisdictions, therapies=therapies, today=today, recorded=recorded
    )
    stale_before = min(as_of, today) - dt.timedelta(days=STALE_AFTER_DAYS)
    rows = [
        MatrixRow(
            r.jurisdiction,
            r.depth,
            [MatrixCell(t, cells[(r.jurisdiction.pk, t.pk)]) for t in therapies],
            stale=r.jurisdiction.reviewed_to is None or r.jurisdiction.reviewed_to < stale_before,
        )
        for r in jurisdiction_tree(jurisdictions)
    ]
    # Historical views are historical: the latest decisions as of the date shown.
    latest_query = Decision.objects.filter(state__in=LIVE_STATES, announced_on__lte=as_of)
    if recorded is not None:  # only what was on record then
        latest_query = latest_query.filter(changes__recorded_at__lte=recorded.at).distinct()
    if narrowed:
        latest_query = decision_list_for_therapies(
            latest_query.filter(jurisdiction__in=jurisdictions), therapy_ids=[t.pk for t in therapies]
        )
    latest = list(latest_query.select_related("jurisdiction").order_by("-announced_on", "-id")[:latest_limit])
    return Matrix(
        as_of=as_of,
        today=today,
        therapies=therapies,
        rows=rows,
        upcoming=upcoming_list(
            today=as_of,
            limit=upcoming_limit,
            announced_by=as_of if as_of < today else None,
            jurisdiction_ids=[j.pk for j in jurisdictions] if narrowed else None,
            therapy_ids=[t.pk for t in therapies] if narrowed else None,
        )
        if upcoming_limit
        else [],  # the exports show neither list
        latest=latest,
    )


def upcoming_list(
    *,
    today: dt.date,
    limit: int,
    announced_by: dt.date | None = None,
    jurisdiction_ids: list[int] | None = None,
    therapy_ids: list[int] | None = None,
) -> list[UpcomingItem]:
    """Target and effective dates still ahead of `today` (the date shown),
    soonest first (the same list as the iCalendar feed); on a past date only
    those already announced by then."""
    return [
        UpcomingItem(
            u.on,
            format_partial_date(u.on, u.precision),
            "Target date" if u.which == "target" else "Takes effect",
            u.decision,
        )
        for u in upcoming_dates(
            today=today, announced_by=announced_by, jurisdiction_ids=jurisdiction_ids, therapy_ids=therapy_ids
        )[:limit]
    ]


# --- Filters, "follow this view", exports (issue 10, "exports") ---------------


@dataclass(frozen=True)
class ViewLink:
    key: str  # "atom", "ical", "csv", "email"; "csv", "csv-bom", "xlsx"
    label: str
    url: str
    note: str = ""


def _with_query(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query, safe=',:')}" if query else path


def follow_links(params: MatrixParams) -> list[ViewLink]:
    """Feeds and the subscribe form for the scope the matrix shows, each
    given the same jurisdictions and therapies (see MatrixParams.scope_query)."""
    scope = params.scope_query()
    return [
        ViewLink("atom", "New decisions (Atom)", _with_query(reverse("regulatory-feed-decisions"), scope)),
        ViewLink("ical", "Upcoming dates (iCalendar)", _with_query(reverse("regulatory-feed-upcoming"), scope)),
        ViewLink("csv", "Decisions (CSV)", _with_query(reverse("regulatory-export-decisions"), scope)),
        ViewLink(
            "email", "By email", _with_query(reverse("tracker-subscribe"), scope), "the subscribe form, pre-filled"
        ),
    ]


def export_links(params: MatrixParams) -> list[ViewLink]:
    """This matrix (same date, record time and filters) as a file."""
    query = params.view_query()
    return [
        ViewLink("csv", "CSV", _with_query(reverse("regulatory-export-matrix-csv"), query)),
        ViewLink(
            "csv-bom",
            "CSV for Excel",
            _with_query(reverse("regulatory-export-matrix-csv"), {**query, "bom": "1"}),
            "with a byte-order mark, so that Excel reads accented names right",
        ),
        ViewLink("xlsx", "XLSX", _with_query(reverse("regulatory-export-matrix-xlsx"), query)),
    ]
