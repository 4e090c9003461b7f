"""/timeline/: one therapy's decisions in the chosen jurisdictions, drawn
(see `chart`) and listed.

Every builder in this package runs a fixed number of queries whatever the
size of the data: it fetches with `select_related`/`prefetch_related` and
does the filtering and the drawing arithmetic in Python, on a dataset that is
hundreds of rows, not millions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from regulatory.models import Decision, DecisionKind, Jurisdiction
from regulatory.pages.chart import TimelineChart, timeline_chart_build
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.parameters import TimelineParams
from regulatory.selectors import decision_list_public


@dataclass
class JurisdictionChoice:
    jurisdiction: Jurisdiction
    depth: int
    count: int
    selected: bool


@dataclass
class Timeline:
    params: TimelineParams
    today: dt.date
    choices: list[JurisdictionChoice]
    chart: TimelineChart | None
    decisions: list[Decision]  # the filtered list under the chart
    total: int  # decisions in the selected lanes before kind/date/text filters
    kind_choices: list[tuple[str, str]] = field(default_factory=lambda: list(DecisionKind.choices))

    @property
    def selected_jurisdictions(self) -> list[Jurisdiction]:
        return [c.jurisdiction for c in self.choices if c.selected]


def timeline_build(*, params: TimelineParams, today: dt.date) -> Timeline:
    """Decisions for one therapy in the chosen jurisdictions, drawn and
    listed: three queries (decisions, their therapies, their sources) on top
    of the two of `timeline_params_parse`."""
    decisions = list(decision_list_public().filter(therapies=params.therapy).order_by("announced_on", "id"))
    by_jurisdiction: dict[int, list[Decision]] = {}
    for d in decisions:
        by_jurisdiction.setdefault(d.jurisdiction_id, []).append(d)
    tree = jurisdiction_tree(params.jurisdictions)
    if params.selected_codes:
        wanted = set(params.selected_codes)
    else:
        wanted = {r.jurisdiction.code for r in tree if r.jurisdiction.pk in by_jurisdiction}
    choices = [
        JurisdictionChoice(
            r.jurisdiction, r.depth, len(by_jurisdiction.get(r.jurisdiction.pk, [])), r.jurisdiction.code in wanted
        )
        for r in tree
    ]
    # Lanes follow the order asked for in the URL (?jurisdiction=us,au puts
    # the US first), else the matrix order.
    order = params.selected_codes or [r.jurisdiction.code for r in tree]
    by_code = {j.code: j for j in params.jurisdictions}
    lanes_decisions = [(by_code[c], by_jurisdiction.get(by_code[c].pk, [])) for c in order if c in wanted]
    shown = [d for _, ds in lanes_decisions for d in ds]
    chart = None
    if shown:  # a lane asked for stays, empty, beside others; no decisions at all gets a message
        chart = timeline_chart_build(lanes_decisions=lanes_decisions, params=params, today=today)
    listed = sorted((d for d in shown if params.matches(d)), key=lambda d: (d.announced_on, d.pk))
    return Timeline(params=params, today=today, choices=choices, chart=chart, decisions=listed, total=len(shown))
