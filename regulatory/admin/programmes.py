"""Access programmes' and control baselines' admin, each with its sources inline."""

from __future__ import annotations

from django.contrib import admin

from regulatory.admin.base import SOURCE_INLINE_FIELDS, IsoDates, RecordHistoryAdmin
from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    ControlBaseline,
    ProgrammeSource,
)


class ProgrammeSourceInline(IsoDates, admin.StackedInline):
    model = ProgrammeSource
    extra = 0
    min_num = 1
    validate_min = True
    fields = SOURCE_INLINE_FIELDS


@admin.register(AccessProgramme)
class AccessProgrammeAdmin(RecordHistoryAdmin):
    inlines = [ProgrammeSourceInline]
    list_display = ("name", "jurisdiction", "kind", "state", "opened_display", "closed_display", "verified")
    list_filter = ("state", "kind", "jurisdiction", "verified")
    search_fields = ("name", "summary", "slug", "eligibility")
    filter_horizontal = ("therapies",)
    readonly_fields = ("dataset_key",)


class BaselineSourceInline(admin.StackedInline):
    model = BaselineSource
    extra = 0
    min_num = 1  # a baseline without a source is never shown as fact
    validate_min = True
    fields = SOURCE_INLINE_FIELDS


@admin.register(ControlBaseline)
class ControlBaselineAdmin(RecordHistoryAdmin):
    inlines = [BaselineSourceInline]
    list_display = ("jurisdiction", "substance", "control", "instrument", "since_display", "verified")
    list_filter = ("jurisdiction", "control", "verified")
    search_fields = ("substance", "instrument")
    readonly_fields = ("dataset_key",)
