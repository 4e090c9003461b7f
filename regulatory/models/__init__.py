"""The regulatory record: who decides, about what, when, on what evidence.

`regulatory/` knows nothing of `tracker/`: it writes Change rows (its public
history and the outbox) and others read them.
"""

# isort: off
# In the order of the single module they came from, so the app registry lists the models as before.
from regulatory.models.vocabulary import (
    EARLIEST_DATE,
    LATEST_DATE,
    RECORD_DATE_VALIDATORS,
    Precision,
    Control,
    CONTROL_DESCRIPTIONS,
    LEGACY_STATUS_LABELS,
    ApprovalStage,
    APPROVAL_STAGE_DESCRIPTIONS,
    DecisionKind,
    DecisionState,
    LIVE_STATES,
    PUBLIC_STATES,
    SourceGrade,
    GRADE_RANK,
    format_partial_date,
)
from regulatory.models.reference import (
    STALE_AFTER_DAYS,
    Jurisdiction,
    JurisdictionReview,
    Regulator,
    Therapy,
)
from regulatory.models.programmes import (
    ProgrammeKind,
    NON_ROUTE_KINDS,
    PROGRAMME_KIND_SHORT,
    ProgrammeState,
    AccessProgramme,
)
from regulatory.models.decisions import (
    Decision,
)
from regulatory.models.sources import (
    http_url,
    LinkStatus,
    SourceBase,
    Source,
    ProgrammeSource,
)
from regulatory.models.baselines import (
    ControlBaseline,
    BaselineSource,
)
from regulatory.models.changes import (
    DatasetRelease,
    ChangeKind,
    Change,
)
# isort: on

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "RECORD_DATE_VALIDATORS",
    "Precision",
    "Control",
    "CONTROL_DESCRIPTIONS",
    "LEGACY_STATUS_LABELS",
    "ApprovalStage",
    "APPROVAL_STAGE_DESCRIPTIONS",
    "DecisionKind",
    "DecisionState",
    "LIVE_STATES",
    "PUBLIC_STATES",
    "SourceGrade",
    "GRADE_RANK",
    "format_partial_date",
    "STALE_AFTER_DAYS",
    "Jurisdiction",
    "JurisdictionReview",
    "Regulator",
    "Therapy",
    "ProgrammeKind",
    "NON_ROUTE_KINDS",
    "PROGRAMME_KIND_SHORT",
    "ProgrammeState",
    "AccessProgramme",
    "Decision",
    "http_url",
    "LinkStatus",
    "SourceBase",
    "Source",
    "ProgrammeSource",
    "ControlBaseline",
    "BaselineSource",
    "DatasetRelease",
    "ChangeKind",
    "Change",
]
