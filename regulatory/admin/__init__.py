"""The editors' admin. Saving a published decision records an amendment,
correction or retraction through regulatory.services, so every edit of the
public record leaves a Change row (and a simple-history entry: who, when, what)."""

# isort: off
# In the order of the single module they came from (the order of registration).
from regulatory.admin.base import (
    ISO_DATE,
    SOURCE_INLINE_FIELDS,
    IsoDates,
    RecordHistoryAdmin,
    ReferenceAdmin,
)
from regulatory.admin.reference import (
    reviewed_nothing_new,
    JurisdictionReviewInline,
    JurisdictionAdmin,
    JurisdictionReviewAdmin,
    RegulatorAdmin,
    TherapyAdmin,
)
from regulatory.admin.decision_forms import (
    SourceFormSet,
    SourceInline,
    DecisionAdminForm,
    RetractForm,
)
from regulatory.admin.decisions import (
    publish_selected,
    DecisionAdmin,
)
from regulatory.admin.programmes import (
    ProgrammeSourceInline,
    AccessProgrammeAdmin,
    BaselineSourceInline,
    ControlBaselineAdmin,
)
from regulatory.admin.history import (
    DatasetReleaseAdmin,
    ChangeAdmin,
)
# isort: on

__all__ = [
    "ISO_DATE",
    "SOURCE_INLINE_FIELDS",
    "IsoDates",
    "RecordHistoryAdmin",
    "ReferenceAdmin",
    "reviewed_nothing_new",
    "JurisdictionReviewInline",
    "JurisdictionAdmin",
    "JurisdictionReviewAdmin",
    "RegulatorAdmin",
    "TherapyAdmin",
    "SourceFormSet",
    "SourceInline",
    "DecisionAdminForm",
    "RetractForm",
    "publish_selected",
    "DecisionAdmin",
    "ProgrammeSourceInline",
    "AccessProgrammeAdmin",
    "BaselineSourceInline",
    "ControlBaselineAdmin",
    "DatasetReleaseAdmin",
    "ChangeAdmin",
]
