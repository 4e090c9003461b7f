"""A cell's state in three dimensions (control, approval stage, access routes) and its headline tone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# --- Status, in three dimensions ----------------------------------------------
#
# A cell is one (jurisdiction, therapy) pair on a date. Its three dimensions
# come from different facts and are never blurred into one word:
#   control         the latest live decision with a `control` in force on the
#                   date, else the jurisdiction's baseline for the substance;
#   approval stage  the latest live decision with an `approval_stage` in force;
#   access          the access programmes for the therapy (or its substance)
#                   opened by the date, each in its own state on that date.
# "In force on D": effective on or before D; on the same day the later
# announcement, then the later record wins.


class RouteState:
    OPEN = "open"
    CLOSED = "closed"
    CLOSED_DATE_UNKNOWN = "closed_date_unknown"
    UNKNOWN_AFTER = "unknown_after"
    PLANNED = "planned"


class CellState:
    RECORDED = "recorded"
    NO_DECISION = "no_decision"
    NOT_RESEARCHED = "not_researched"


# The headline colour. First match wins (README "Status, in three dimensions").
TONE_ORDER = (
    "approved",
    "access",
    "permitted",
    "review",
    "refused",
    "investigational",
    "prohibited",
    "uncontrolled",
    "none",
    "not_researched",
)
TONE_LABELS: dict[str, str] = {
    "approved": "Approved",
    "access": "Open access route (not capped)",
    "permitted": "Medical use permitted",
    "review": "Under review",
    "refused": "Not approved or withdrawn",
    "investigational": "Investigational",
    "prohibited": "Prohibited, no open route",
    "uncontrolled": "Not controlled",
    "none": "No decision recorded",
    "not_researched": "Not researched",
}


@dataclass(frozen=True)
class ControlInForce:
    value: str
    instrument: str
    since: dt.date | None
    since_precision: str
    decision_id: int | None = None
    baseline_id: int | None = None
    known_before: dt.date | None = None

    @property
    def label(self) -> str:
        from regulatory.models import Control

        return Control(self.value).label

    @property
    def short(self) -> str:
        """The instrument's short name: the text before the first comma."""
        return self.instrument.split(",", 1)[0].strip() or self.label

    @property
    def since_display(self) -> str:
        from regulatory.models import Precision, format_partial_date

        if self.since:
            return format_partial_date(self.since, self.since_precision)
        if self.known_before:
            return f"in force before {format_partial_date(self.known_before, Precision.DAY)}"
        return "start date unknown"


@dataclass(frozen=True)
class StageInForce:
    value: str
    since: dt.date
    since_precision: str
    decision_id: int

    @property
    def label(self) -> str:
        from regulatory.models import ApprovalStage

        return ApprovalStage(self.value).label

    @property
    def since_display(self) -> str:
        from regulatory.models import format_partial_date

        return format_partial_date(self.since, self.since_precision)


@dataclass(frozen=True)
class Route:
    programme_id: int
    slug: str
    name: str
    kind: str
    state: str
    capped: bool
    scale: str
    opened_on: dt.date | None
    opened_precision: str
    closed_on: dt.date | None
    closed_precision: str
    known_until: dt.date | None
    known_until_precision: str

    @property
    def kind_label(self) -> str:
        from regulatory.models import ProgrammeKind

        return ProgrammeKind(self.kind).label

    @property
    def state_label(self) -> str:
        from regulatory.models import format_partial_date

        if self.state == RouteState.UNKNOWN_AFTER:
            return f"unknown after {format_partial_date(self.known_until, self.known_until_precision)}"
        if self.state == RouteState.CLOSED_DATE_UNKNOWN:
            return "closed, date unknown"
        if self.state == RouteState.OPEN and self.capped:
            return "capped"
        return self.state

    @property
    def label(self) -> str:
        """'EA protocol (closed)', 'Authorised prescribers (open)'."""
        from regulatory.models import PROGRAMME_KIND_SHORT

        return f"{PROGRAMME_KIND_SHORT.get(self.kind, self.kind)} ({self.state_label})"

    @property
    def is_open_uncapped(self) -> bool:
        return self.state == RouteState.OPEN and not self.capped


@dataclass(frozen=True)
class Provenance:
    best_grade: str | None
    sources: int
    unverified: bool
    best_is_copy: bool = False

    @property
    def label(self) -> str:
        if self.best_grade is None:
            return ""
        from regulatory.models import SourceGrade

        if self.best_grade == SourceGrade.SECONDARY:
            return "secondary only"
        return f"{self.best_grade} (copy)" if self.best_is_copy else self.best_grade


@dataclass(frozen=True)
class Cell:
    jurisdiction_id: int
    therapy_id: int
    as_of: dt.date
    control: ControlInForce | None
    approval_stage: StageInForce | None
    access: tuple[Route, ...]
    covered: bool
    certain: bool
    uncertain_because: tuple[str, ...]
    provenance: Provenance
    reviewed_to: dt.date | None
    stale: bool

    @property
    def state(self) -> str:
        if self.control or self.approval_stage or self.access:
            return CellState.RECORDED
        return CellState.NO_DECISION if self.covered else CellState.NOT_RESEARCHED

    @property
    def headline(self) -> str:
        """Stage · control · routes, each part only when known:
        'Investigational · Schedule I · EA protocol (closed, date unknown)'."""
        parts = []
        if self.approval_stage and self.approval_stage.value != "none":
            parts.append(self.approval_stage.label)
        if self.control:
            parts.append(self.control.short)
        parts += [route.label for route in self.access]
        if parts:
            return " · ".join(parts)
        return "No decision recorded" if self.covered else "Not researched"

    # The API's `status` is the headline.
    status = headline

    @property
    def tone(self) -> str:
        stage = self.approval_stage.value if self.approval_stage else ""
        control = self.control.value if self.control else ""
        if stage == "approved":
            return "approved"
        if any(route.is_open_uncapped for route in self.access):
            return "access"
        if control == "medical_use_permitted":
            return "permitted"
        if stage == "under_review":
            return "review"
        if stage in ("not_approved", "withdrawn"):
            return "refused"
        if stage == "investigational":
            return "investigational"
        if control == "prohibited":
            return "prohibited"
        if control == "not_controlled":
            return "uncontrolled"
        return "none" if self.covered or self.state == CellState.RECORDED else "not_researched"

    @property
    def since(self) -> dt.date | None:
        """When the latest of the dimensions took its present value."""
        dates = [
            d
            for d in (
                self.control.since if self.control else None,
                self.approval_stage.since if self.approval_stage else None,
            )
            if d
        ]
        return max(dates, default=None)

    @property
    def decision_id(self) -> int | None:
        """The decision that set the most recent dimension (for a link)."""
        candidates = []
        if self.approval_stage:
            candidates.append((self.approval_stage.since, self.approval_stage.decision_id))
        if self.control and self.control.decision_id:
            candidates.append((self.control.since or dt.date.min, self.control.decision_id))
        return max(candidates)[1] if candidates else None
