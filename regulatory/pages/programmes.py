"""Access programmes at /programmes/, grouped by jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from regulatory.models import PUBLIC_STATES, AccessProgramme, Decision, Jurisdiction
from regulatory.pages.jurisdictions import jurisdiction_tree
from regulatory.pages.parameters import ProgrammeParams


@dataclass
class ProgrammeGroup:
    jurisdiction: Jurisdiction
    depth: int
    programmes: list[AccessProgramme]


def programme_groups_build(*, params: ProgrammeParams) -> list[ProgrammeGroup]:
    """Access programmes grouped by jurisdiction in matrix order: four queries
    (programmes, therapies, sources, public decisions)."""
    programmes = (
        AccessProgramme.objects.select_related("jurisdiction", "regulator")
        .prefetch_related(
            "therapies",
            "sources",
            Prefetch(
                "decisions",
                queryset=Decision.objects.filter(state__in=PUBLIC_STATES).order_by("announced_on", "id"),
                to_attr="public_decisions",
            ),
        )
        .order_by("jurisdiction__position", "jurisdiction__code", "name")
    )
    if params.selected_codes:
        programmes = programmes.filter(jurisdiction__code__in=params.selected_codes)
    if params.state:
        programmes = programmes.filter(state=params.state)
    by_jurisdiction: dict[int, list[AccessProgramme]] = {}
    for p in programmes:
        by_jurisdiction.setdefault(p.jurisdiction_id, []).append(p)
    return [
        ProgrammeGroup(r.jurisdiction, r.depth, by_jurisdiction[r.jurisdiction.pk])
        for r in jurisdiction_tree(params.jurisdictions)
        if r.jurisdiction.pk in by_jurisdiction
    ]
