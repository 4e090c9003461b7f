"""Reference data: jurisdictions, therapies and access programmes, listed and one by one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_view

from regulatory import selectors
from regulatory.api import filters
from regulatory.api.schema import (
    read_schema,
)
from regulatory.api.serializers import (
    AccessProgrammeSerializer,
    JurisdictionSerializer,
    TherapySerializer,
)
from regulatory.api.views.base import ConditionalListApi, ConditionalRetrieveApi
from regulatory.httpcache import cached_read


@cached_read()
@extend_schema_view(get=read_schema(JurisdictionSerializer, summary="List jurisdictions", many=True))
class JurisdictionListApi(ConditionalListApi):
    serializer_class = JurisdictionSerializer

    def get_queryset(self):
        return selectors.jurisdiction_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(
    get=read_schema(JurisdictionSerializer, summary="One jurisdiction, with its regulators", lookup="code")
)
class JurisdictionDetailApi(ConditionalRetrieveApi):
    serializer_class = JurisdictionSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.jurisdiction_list()


@cached_read()
@extend_schema_view(get=read_schema(TherapySerializer, summary="List therapies", many=True))
class TherapyListApi(ConditionalListApi):
    serializer_class = TherapySerializer

    def get_queryset(self):
        return selectors.therapy_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(get=read_schema(TherapySerializer, summary="One therapy", lookup="slug"))
class TherapyDetailApi(ConditionalRetrieveApi):
    serializer_class = TherapySerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.therapy_list()


@cached_read()
@extend_schema_view(
    get=read_schema(
        AccessProgrammeSerializer,
        summary="List access programmes",
        many=True,
        description="Named routes to treatment outside trials (expanded access, authorised prescribers, special "
        "access, compassionate use, ...).",
    )
)
class AccessProgrammeListApi(ConditionalListApi):
    serializer_class = AccessProgrammeSerializer
    filterset_class = filters.AccessProgrammeFilter

    def get_queryset(self):
        return selectors.access_programme_list()


@cached_read(params=[filters.FORMAT_PARAM])
@extend_schema_view(get=read_schema(AccessProgrammeSerializer, summary="One access programme", lookup="slug"))
class AccessProgrammeDetailApi(ConditionalRetrieveApi):
    serializer_class = AccessProgrammeSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.access_programme_list()
