"""The editors' admin. Saving a published decision records an amendment,
correction or retraction through regulatory.services, so every edit of the
public record leaves a Change row (and a simple-history entry: who, when, what)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    Change,
    ControlBaseline,
    DatasetRelease,
    ChangeKind,
    Decision,
    DecisionState,
    Jurisdiction,
    JurisdictionReview,
    ProgrammeSource,
    Regulator,
    Source,
    Therapy,
)
from regulatory.services import (
    decision_publish,
    decision_record_edit,
    decision_retract,
    decision_snapshot,
    jurisdiction_review_record,
)

SOURCE_INLINE_FIELDS = (("url", "grade"), ("title", "publisher"), ("published_on", "published_precision"),
                        ("is_copy", "original_url"), "note", "archived_url")


class ReferenceAdmin(SimpleHistoryAdmin):
    """Jurisdictions, regulators and therapies: deleting one in use would
    silently rewrite published decisions (and widen subscriptions scoped to
    it), so only unused rows can be deleted."""

    in_use_relations: tuple[str, ...] = ()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and any(getattr(obj, name).exists() for name in self.in_use_relations):
            return False
        return super().has_delete_permission(request, obj)


@admin.action(description="Reviewed: nothing new (record today as the review date)")
def reviewed_nothing_new(modeladmin: JurisdictionAdmin, request: HttpRequest, queryset: QuerySet[Jurisdiction]) -> None:
    for jurisdiction in queryset.order_by("pk"):
        jurisdiction_review_record(jurisdiction=jurisdiction, by=request.user, note="Reviewed: nothing new.")
    modeladmin.message_user(request, f"{queryset.count()} jurisdiction(s) marked reviewed to today.",
                            level=messages.SUCCESS)


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
class JurisdictionReviewAdmin(admin.ModelAdmin):
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
        saved = jurisdiction_review_record(jurisdiction=obj.jurisdiction, reviewed_to=obj.reviewed_to,
                                           by=request.user, note=obj.note)
        obj.pk, obj.recorded_at, obj.recorded_by = saved.pk, saved.recorded_at, saved.recorded_by


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


class SourceFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Editing only the sources of a published decision is an edit of the
        # public record too: it needs the same "amendment or correction" and
        # note as a change to the decision's own fields.
        if self.instance.pk and self.instance.is_live and self.has_changed():
            if not self.data.get("change_kind"):
                raise ValidationError("Changing the sources of a published decision is an amendment or a "
                                      "correction: say which below, with a public note.")
            if not self.data.get("change_note", "").strip():
                raise ValidationError("Changing the sources of a published decision needs a public note.")


class SourceInline(admin.StackedInline):
    model = Source
    formset = SourceFormSet
    extra = 0
    min_num = 1
    validate_min = True
    fields = SOURCE_INLINE_FIELDS

    def _editable(self, obj) -> bool:
        return obj is None or obj.state != DecisionState.RETRACTED

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(obj)


class DecisionAdminForm(forms.ModelForm):
    change_kind = forms.ChoiceField(
        required=False,
        label="Record this edit as",
        choices=[("", "---------"), (ChangeKind.AMEND, "Amendment (new information)"),
                 (ChangeKind.CORRECT, "Correction (the record was wrong)"),
                 (ChangeKind.RETRACT, "Retraction (withdraw this decision; other edits are discarded)")],
        help_text="Required when editing a published decision. Subscribers are told which it is.",
    )
    change_note = forms.CharField(
        required=False, label="Public note", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record changed; shown in the decision's public history.",
    )

    class Meta:
        model = Decision
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.instance.is_live and self.has_changed():
            if not cleaned.get("change_kind"):
                self.add_error("change_kind", "Say whether this edit is an amendment, a correction or a retraction.")
            if cleaned.get("change_kind") and not cleaned.get("change_note", "").strip():
                self.add_error("change_note", "Say in a public note why the record changed.")
        return cleaned


@admin.action(description="Publish selected drafts")
def publish_selected(modeladmin: DecisionAdmin, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
    published = 0
    for decision in queryset.order_by("pk"):
        if not decision.is_draft:
            continue
        try:
            decision_publish(decision=decision, by=request.user)
        except ValidationError as exc:
            modeladmin.message_user(request, f"“{decision}” was not published: {' '.join(exc.messages)}",
                                    level=messages.ERROR)
        else:
            published += 1
    modeladmin.message_user(request, f"{published} decision(s) published.", level=messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(SimpleHistoryAdmin):
    form = DecisionAdminForm
    inlines = [SourceInline]
    actions = [publish_selected]
    list_display = ("title", "jurisdiction", "kind", "announced_display", "control", "approval_stage", "state", "verified")
    list_filter = ("state", "kind", "control", "approval_stage", "jurisdiction", "therapies", "verified")
    search_fields = ("title", "summary", "slug", "sources__url", "sources__publisher", "dataset_key")
    date_hierarchy = "announced_on"
    autocomplete_fields = ("regulator", "access_programme")
    filter_horizontal = ("therapies",)
    readonly_fields = ("state", "published_at", "dataset_key", "created_at", "updated_at")
    list_select_related = ("jurisdiction",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "jurisdiction", "regulator", "therapies", "kind", "summary")}),
        ("Dates (each with the precision it is known to)", {"fields": (
            ("announced_on", "announced_precision"), ("effective_on", "effective_precision"),
            ("target_on", "target_precision"))}),
        ("Effect", {"fields": ("substance", "control", "control_instrument", "approval_stage", "access_programme")}),
        ("Verification", {"fields": ("verified", "verification_note", ("researched_on", "researched_precision"))}),
        ("Record", {"fields": ("state", "published_at", "dataset_key", "created_at", "updated_at")}),
        ("Editing a published decision", {"fields": ("change_kind", "change_note")}),
    )
    prepopulated_fields = {"slug": ("title",)}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not obj.is_live:
            fieldsets = tuple(fs for fs in fieldsets if fs[0] != "Editing a published decision")
        return fieldsets

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.state == DecisionState.RETRACTED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Published decisions are never deleted: they are retracted.
        if obj is not None and not obj.is_draft:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj: Decision, form: DecisionAdminForm, change: bool) -> None:
        request._decision_before = None
        request._decision_retract = False
        if change and obj.is_live:
            stored = Decision.objects.get(pk=obj.pk)
            request._decision_before = decision_snapshot(stored)
            if form.cleaned_data.get("change_kind") == ChangeKind.RETRACT:
                request._decision_retract = True
                decision_retract(decision=stored, by=request.user, note=form.cleaned_data["change_note"])
                return
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if getattr(request, "_decision_retract", False):
            # The retraction discards the form's edits; tell the admin's
            # change message that the inlines saved nothing.
            for formset in formsets:
                formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_decision_before", None)
        if before is not None:
            decision_record_edit(
                decision=form.instance, before=before, by=request.user,
                change_kind=form.cleaned_data.get("change_kind") or ChangeKind.AMEND,
                note=form.cleaned_data.get("change_note", ""),
            )


class ProgrammeSourceInline(admin.StackedInline):
    model = ProgrammeSource
    extra = 0
    min_num = 1
    validate_min = True
    fields = SOURCE_INLINE_FIELDS


@admin.register(AccessProgramme)
class AccessProgrammeAdmin(SimpleHistoryAdmin):
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
class ControlBaselineAdmin(SimpleHistoryAdmin):
    inlines = [BaselineSourceInline]
    list_display = ("jurisdiction", "substance", "control", "instrument", "since_display", "verified")
    list_filter = ("jurisdiction", "control", "verified")
    search_fields = ("substance", "instrument")
    readonly_fields = ("dataset_key",)


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(admin.ModelAdmin):
    list_display = ("version", "researched_on", "loaded_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    """The append-only public history: readable, never editable."""

    list_display = ("id", "decision", "kind", "recorded_at", "recorded_by", "late_reported", "is_import")
    list_filter = ("kind", "late_reported", "is_import")
    search_fields = ("decision__title", "note")
    list_select_related = ("decision", "recorded_by")
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
