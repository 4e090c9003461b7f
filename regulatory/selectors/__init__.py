"""Reads of the regulatory record. Each function runs a fixed number of
queries whatever the size of the data."""

# isort: off
# In the order of the single module they came from.
from regulatory.selectors.cells import (
    RouteState,
    CellState,
    TONE_ORDER,
    TONE_LABELS,
    ControlInForce,
    StageInForce,
    Route,
    Provenance,
    Cell,
)
from regulatory.selectors.status import (
    _latest_per_pair as _latest_per_pair,
    _route_state as _route_state,
    CellFacts,
    cells_assemble,
    cell_grid,
    status_matrix,
    status_for,
)
from regulatory.selectors.decisions import (
    decision_list_public,
    decision_latest_recorded_at,
    decision_latest_is_import,
    decision_list_api,
    decision_get_api,
    decision_list_recorded_since,
    decision_list_for_therapies,
    decision_list_feed,
)
from regulatory.selectors.version import (
    RecordVersion,
    record_version,
    _versioned_models as _versioned_models,
)
from regulatory.selectors.reference import (
    jurisdiction_list,
    therapy_list,
    access_programme_list,
)
from regulatory.selectors.listings import (
    StatusRow,
    status_rows,
    UpcomingDate,
    upcoming_dates,
    decision_page_url,
)
# isort: on

__all__ = [
    "RouteState",
    "CellState",
    "TONE_ORDER",
    "TONE_LABELS",
    "ControlInForce",
    "StageInForce",
    "Route",
    "Provenance",
    "Cell",
    "cell_grid",
    "status_matrix",
    "status_for",
    "decision_list_public",
    "decision_latest_recorded_at",
    "decision_latest_is_import",
    "decision_list_api",
    "decision_get_api",
    "decision_list_recorded_since",
    "decision_list_for_therapies",
    "decision_list_feed",
    "RecordVersion",
    "record_version",
    "jurisdiction_list",
    "therapy_list",
    "access_programme_list",
    "StatusRow",
    "status_rows",
    "CellFacts",
    "cells_assemble",
    "UpcomingDate",
    "upcoming_dates",
    "decision_page_url",
]
