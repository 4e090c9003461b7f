"""JSON API views: one class per resource URL, each method validating its
input, calling one selector or service, and serialising the result.

Reads are public and conditional (ETag / Last-Modified → 304, see
`regulatory.httpcache`), with a fixed number of SQL queries per request. Writes need an
editor's token (`permissions`). Pagination, error mapping and the schema's
shared pieces live in modules of their own.
"""

# isort: off
# In the order of the single module they came from.
from regulatory.api.views.base import (
    ReadApi,
    ConditionalListApi,
    ConditionalRetrieveApi,
)
from regulatory.api.views.reference import (
    JurisdictionListApi,
    JurisdictionDetailApi,
    TherapyListApi,
    TherapyDetailApi,
    AccessProgrammeListApi,
    AccessProgrammeDetailApi,
)
from regulatory.api.views.decisions import (
    DecisionListApi,
    DecisionDetailApi,
    DecisionPublishApi,
)
from regulatory.api.views.status import (
    StatusApi,
)
from regulatory.api.views.root import (
    not_found,
    api_root,
)
# isort: on

__all__ = [
    "ReadApi",
    "ConditionalListApi",
    "ConditionalRetrieveApi",
    "JurisdictionListApi",
    "JurisdictionDetailApi",
    "TherapyListApi",
    "TherapyDetailApi",
    "AccessProgrammeListApi",
    "AccessProgrammeDetailApi",
    "DecisionListApi",
    "DecisionDetailApi",
    "DecisionPublishApi",
    "StatusApi",
    "not_found",
    "api_root",
]
