"""Shapes of the JSON API. Serializers only convert and validate; writes go
through regulatory.services, reads come from regulatory.selectors."""

# isort: off
# In the order of the single module they came from.
from regulatory.api.serializers.fields import (
    api_url,
    BlankChoiceField,
    CodeListField,
    RecordDateField,
    _precision as _precision,
)
from regulatory.api.serializers.reference import (
    SourceSerializer,
    RegulatorSerializer,
    JurisdictionSerializer,
    TherapySerializer,
    AccessProgrammeSerializer,
)
from regulatory.api.serializers.decisions import (
    DecisionSerializer,
    VERSION_MAX,
    DecisionWriteSerializer,
    PublishSerializer,
)
from regulatory.api.serializers.status import (
    ControlInForceSerializer,
    StageInForceSerializer,
    ROUTE_STATES,
    RouteSerializer,
    ProvenanceSerializer,
    CELL_STATES,
    StatusRowSerializer,
    StatusResponseSerializer,
    ErrorSerializer,
)
# isort: on

__all__ = [
    "api_url",
    "BlankChoiceField",
    "CodeListField",
    "RecordDateField",
    "SourceSerializer",
    "RegulatorSerializer",
    "JurisdictionSerializer",
    "TherapySerializer",
    "AccessProgrammeSerializer",
    "DecisionSerializer",
    "VERSION_MAX",
    "DecisionWriteSerializer",
    "PublishSerializer",
    "ControlInForceSerializer",
    "StageInForceSerializer",
    "ROUTE_STATES",
    "RouteSerializer",
    "ProvenanceSerializer",
    "CELL_STATES",
    "StatusRowSerializer",
    "StatusResponseSerializer",
    "ErrorSerializer",
]
