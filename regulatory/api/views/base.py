"""The read views' base: DRF generic views answered conditionally."""

from __future__ import annotations

from rest_framework import generics, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from regulatory.api import filters
from regulatory.api.pagination import StrictPageNumberPagination
from regulatory.api.permissions import IsEditorOrReadOnly, viewer_is_editor
from regulatory.api.schema import (
    ApiSchema,
)


class ReadApi(GenericAPIView):
    """Common ground of the API views."""

    schema = ApiSchema()
    permission_classes = [IsEditorOrReadOnly]
    pagination_class: type[BasePagination] | None = StrictPageNumberPagination
    filterset_class: type = filters.StrictPlainFilter

    def cache_viewer(self, request: Request) -> str:
        """Who reads, for the HTTP cache: editors see drafts, so their answers
        have validators of their own and are private to them."""
        return "editor" if viewer_is_editor(request) else "public"

    def list_response(self, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


# --- Reference data: DRF's generic list and retrieve views, answered conditionally --------


class ConditionalListApi(ReadApi, generics.ListAPIView):
    """A list of reference data (each concrete view is wrapped in `cached_read`)."""


class ConditionalRetrieveApi(ReadApi, generics.RetrieveAPIView):
    """One row of reference data (each concrete view is wrapped in `cached_read`)."""

    filter_backends: list = []
