"""The reference data's admin: jurisdictions (and their reviews), regulators, therapies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from regulatory.admin.base import IsoDates, ReferenceAdmin
from regulatory.models import (
    Jurisdiction,
    JurisdictionReview,
    Regulator,
    Therapy,
)
from regulatory.services import (
    jurisdiction_review_record,
)


@admin.action(description="Reviewed: nothing new (record today as the review date)")
def reviewed_nothing_new(modeladmin: JurisdictionAdmin, request: HttpRequest, queryset: QuerySet[Jurisdiction]) -> None:
    for jurisdiction in queryset.order_by("pk"):
        jurisdiction_review_record(jurisdiction=jurisdiction, by=request.user, note="Reviewed: nothing new.")
    modeladmin.message_user(
        request, f"{queryset.count()} jurisdiction(s) marked reviewed to today.", level=messages.SUCCESS
    )


class JurisdictionReviewInline(admin.TabularInline):
    """Who reviewed, when and up to which date: for editors only (the public
    sees the date, never the name)."""

    model = JurisdictionReview
    extra = 0
    fields = ("reviewed_to", "recorded_at", "recorded_by", "from_dataset", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Jurisdiction)
class JurisdictionAdmin(ReferenceAdmin):
    in_use_relations = ("decisions", "regulators", "access_programmes", "members")
    list_display = ("code", "name", "parent", "position", "reviewed_to")
    list_filter = ("parent",)
    search_fields = ("code", "name")
    ordering = ("position", "code")
    actions = [reviewed_nothing_new]
    filter_horizontal = ("covers_therapies",)
    readonly_fields = ("reviewed_to",)
    inlines = [JurisdictionReviewInline]


@admin.register(JurisdictionReview)
class JurisdictionReviewAdmin(IsoDates, admin.ModelAdmin):
    """Record a review up to a chosen date (the action on jurisdictions uses
    today). Recorded through the service, with the editor and the time."""

    list_display = ("jurisdiction", "reviewed_to", "recorded_at", "recorded_by", "from_dataset")
    list_filter = ("jurisdiction", "from_dataset")
    fields = ("jurisdiction", "reviewed_to", "note")
    list_select_related = ("jurisdiction", "recorded_by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj: JurisdictionReview, form, change: bool) -> None:
        saved = jurisdiction_review_record(
            jurisdiction=obj.jurisdiction, reviewed_to=obj.reviewed_to, by=request.user, note=obj.note
        )
        obj.pk, obj.recorded_at, obj.recorded_by = saved.pk, saved.recorded_at, saved.recorded_by

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "parent" in form.base_fields:
            # Not offered as its own parent; a cycle through others is
            # refused by Jurisdiction.clean, the self-reference by the schema too.
            field = form.base_fields["parent"]
            field.queryset = field.queryset.exclude(pk=obj.pk)
        return form


@admin.register(Regulator)
class RegulatorAdmin(ReferenceAdmin):
    in_use_relations = ("decisions", "access_programmes")
    list_display = ("code", "name", "jurisdiction", "website")
    list_filter = ("jurisdiction",)
    search_fields = ("code", "name")


@admin.register(Therapy)
class TherapyAdmin(ReferenceAdmin):
    in_use_relations = ("decisions", "access_programmes")
    list_display = ("slug", "name", "substance", "indication", "position")
    search_fields = ("slug", "name", "substance", "indication")
    prepopulated_fields = {"slug": ("substance", "indication")}
