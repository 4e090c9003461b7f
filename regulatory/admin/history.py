"""Dataset releases and the Change history: readable, never editable."""

from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdminMixin
from regulatory.models import (
    Change,
    DatasetRelease,
)


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(admin.ModelAdmin):
    list_display = ("version", "researched_on", "loaded_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only public history: readable, never editable."""

    list_display = ("id", "decision", "kind", "recorded_at", "recorded_by", "late_reported", "is_import")
    list_filter = ("kind", "late_reported", "is_import")
    search_fields = ("decision__title", "note")
    list_select_related = ("decision", "recorded_by")
    date_hierarchy = "recorded_at"
