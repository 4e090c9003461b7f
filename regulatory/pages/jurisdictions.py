"""Jurisdictions in the order every page lists them: each EU member state
right under its union."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regulatory.models import Jurisdiction

@dataclass(frozen=True)
class JurisdictionRow:
    jurisdiction: Jurisdiction
    depth: int  # 0 for a country or union, 1 for an EU member state


def jurisdiction_tree(jurisdictions: Iterable[Jurisdiction]) -> list[JurisdictionRow]:
    """Jurisdictions in matrix order, each member state right under its union."""
    items = list(jurisdictions)
    ids = {j.pk for j in items}
    children: dict[int | None, list[Jurisdiction]] = {}
    for j in items:
        parent = j.parent_id if j.parent_id in ids else None
        children.setdefault(parent, []).append(j)
    rows: list[JurisdictionRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for j in children.get(parent, []):
            rows.append(JurisdictionRow(j, depth))
            walk(j.pk, depth + 1)

    walk(None, 0)
    return rows
