"""The editors' admin. Saving a published decision records an amendment,
correction or retraction through regulatory.services, so every edit of the
public record leaves a Change row (and a simple-history entry: who, when, what)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from regulatory.errors import EditConflict, EditRuleError
from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    Change,
    ChangeKind,
    ControlBaseline,
    DatasetRelease,
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
    DECISION_FIELDS,
    SOURCE_FIELDS,
    decision_check_edit,
    decision_create,
    decision_delete_draft,
    decision_publish,
    decision_retract,
    decision_update,
    jurisdiction_review_record,
)

ISO_DATE = "%Y-%m-%d"
SOURCE_INLINE_FIELDS = (
    ("url", "grade"),
    ("title", "publisher"),
    ("published_on", "published_precision"),
    ("is_copy", "original_url"),
    "note",
    "archived_url",
)


class IsoDates:
    """Dates typed and shown as YYYY-MM-DD, and only so: 09/08/2024 is the
    9th of August to some editors and the 8th of September to others. The
    calendar widget writes ISO too (config/formats puts it first)."""

    formfield_overrides = {
        models.DateField: {
            "widget": AdminDateWidget(format=ISO_DATE, attrs={"placeholder": "YYYY-MM-DD", "size": "10"}),
            "input_formats": [ISO_DATE],
            "error_messages": {"invalid": "Enter a date as YYYY-MM-DD, e.g. 2024-08-09."},
        },
    }

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField) and field:
            field.help_text = " ".join(filter(None, [str(field.help_text), "Format: YYYY-MM-DD."]))
        return field


class RecordHistoryAdmin(IsoDates, SimpleHistoryAdmin):
    """simple-history's pages, read-only. Its "revert" form saves whatever it
    is sent on POST (hiding the button, SIMPLE_HISTORY_REVERT_DISABLED, does
    not stop that), past the services: a published decision rolled back to
    draft, a correction undone, a retraction undone, with no Change. Past
    versions can be looked at; the record changes only through the services."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"], "Past versions are read-only: edit the record instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReferenceAdmin(RecordHistoryAdmin):
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


def _edit_is_retraction(data: Any) -> bool:
    return data.get("change_kind") == ChangeKind.RETRACT


class SourceFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Editing only the sources of a published decision is an edit of the
        # public record too. The rule is the service's (decision_check_edit,
        # applied again when the edit is saved); asked here so the error shows
        # beside the sources before anything is written.
        if self.instance.pk and self.instance.is_live and self.has_changed() and not _edit_is_retraction(self.data):
            try:
                decision_check_edit(
                    decision=self.instance,
                    change_kind=self.data.get("change_kind"),
                    note=self.data.get("change_note", ""),
                )
            except EditRuleError as exc:
                raise ValidationError(
                    ["Changing the sources of a published decision: " + message for message in exc.messages]
                ) from None


class SourceInline(IsoDates, admin.StackedInline):
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


# The service's argument names, as this form calls them.
_FORM_FIELD_OF = {"note": "change_note"}
# Fields of the form that describe an edit rather than make one.
_EDIT_META_FIELDS = {"change_kind", "change_note", "based_on_version"}


class DecisionAdminForm(forms.ModelForm):
    change_kind = forms.ChoiceField(
        required=False,
        label="Record this edit as",
        choices=[
            ("", "---------"),
            (ChangeKind.AMEND, "Amendment (new information)"),
            (ChangeKind.CORRECT, "Correction (the record was wrong)"),
            (ChangeKind.RETRACT, "Retraction (withdraw this decision for good; asks to confirm)"),
        ],
        help_text="Required when editing a published decision. Subscribers are told which it is.",
    )
    change_note = forms.CharField(
        required=False,
        label="Public note",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record changed; shown in the decision's public history.",
    )
    # The version the editor's form was opened at: saving it after someone
    # else's save would silently undo theirs. (Not named `version`: the admin
    # refuses a form field named like a non-editable model field.)
    based_on_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Decision
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["based_on_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            return cleaned
        if cleaned.get("based_on_version") != self.instance.version:
            # Checked again, atomically, by the service's UPDATE.
            raise ValidationError(EditConflict.MESSAGE, code="conflict")
        edits = set(self.changed_data) - _EDIT_META_FIELDS
        if self.instance.is_live and edits and cleaned.get("change_kind") != ChangeKind.RETRACT:
            try:
                decision_check_edit(
                    decision=self.instance, change_kind=cleaned.get("change_kind"), note=cleaned.get("change_note", "")
                )
            except EditRuleError as exc:
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(_FORM_FIELD_OF.get(name, name), error)
        return cleaned


class RetractForm(forms.Form):
    note = forms.CharField(
        label="Public note: why is it retracted?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown in the decision's public history and told to subscribers.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


@admin.action(description="Publish selected drafts")
def publish_selected(modeladmin: DecisionAdmin, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
    published = 0
    for decision in queryset.order_by("pk"):
        if not decision.is_draft:
            continue
        try:
            decision_publish(decision=decision, by=request.user)
        except ValidationError as exc:
            modeladmin.message_user(
                request, f"“{decision}” was not published: {' '.join(exc.messages)}", level=messages.ERROR
            )
        else:
            published += 1
    modeladmin.message_user(request, f"{published} decision(s) published.", level=messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(RecordHistoryAdmin):
    """Every write goes through regulatory.services, as the API's do: the
    form and its inline sources only validate and collect the edit
    (`save_model` writes nothing; `save_related`, which sees the sources too,
    calls the service)."""

    form = DecisionAdminForm
    inlines = [SourceInline]
    actions = [publish_selected]
    list_display = (
        "title",
        "jurisdiction",
        "kind",
        "announced_display",
        "control",
        "approval_stage",
        "state",
        "verified",
    )
    list_filter = ("state", "kind", "control", "approval_stage", "jurisdiction", "therapies", "verified")
    search_fields = ("title", "summary", "slug", "sources__url", "sources__publisher", "dataset_key")
    date_hierarchy = "announced_on"
    autocomplete_fields = ("regulator", "access_programme")
    filter_horizontal = ("therapies",)
    readonly_fields = ("state", "published_at", "dataset_key", "created_at", "updated_at")
    list_select_related = ("jurisdiction",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "jurisdiction", "regulator", "therapies", "kind", "summary")}),
        (
            "Dates (each with the precision it is known to)",
            {
                "fields": (
                    ("announced_on", "announced_precision"),
                    ("effective_on", "effective_precision"),
                    ("target_on", "target_precision"),
                )
            },
        ),
        ("Effect", {"fields": ("substance", "control", "control_instrument", "approval_stage", "access_programme")}),
        ("Verification", {"fields": ("verified", "verification_note", ("researched_on", "researched_precision"))}),
        (
            "Record",
            {"fields": ("state", "published_at", "dataset_key", "created_at", "updated_at", "based_on_version")},
        ),
        ("Editing a published decision", {"fields": ("change_kind", "change_note")}),
    )
    # Not `prepopulated_fields`: simple-history's page of a past version uses
    # the attribute as it is, with the slug read-only there.
    prepopulated_slug = {"slug": ("title",)}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not obj.is_live:
            fieldsets = tuple(fs for fs in fieldsets if fs[0] != "Editing a published decision")
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_draft:
            # Links and citations use it: fixed once published (see SlugIsFixed).
            readonly += ("slug",)
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return dict(self.prepopulated_slug) if obj is None or obj.is_draft else {}

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

    def get_urls(self):
        retract = path(
            "<path:object_id>/retract/",
            self.admin_site.admin_view(self.retract_view),
            name="regulatory_decision_retract",
        )
        return [retract, *super().get_urls()]

    # --- editing ---------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id and _edit_is_retraction(request.POST):
            # A retraction is permanent: it is never made from the edit form,
            # only from the confirmation page that says so.
            return self.retract_view(request, object_id, confirmed=False)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditConflict:
            # Another save landed between this form's check of the version and
            # the service's UPDATE (its transaction is rolled back). Run the
            # form again: it now sees the newer version and says so, keeping
            # what the editor typed.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        may_change = obj is not None and self.has_change_permission(request, obj)
        context["show_publish"] = bool(may_change and obj.is_draft)
        context["show_retract"] = bool(may_change and obj.is_live)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj: Decision, form: DecisionAdminForm, change: bool) -> None:
        """Nothing is written here: `save_related` hands the whole edit,
        sources included, to the service in one call."""

    def save_related(self, request, form: DecisionAdminForm, formsets, change: bool) -> None:
        cleaned = form.cleaned_data
        data = {name: cleaned[name] for name in DECISION_FIELDS if name in cleaned}
        therapies = list(cleaned["therapies"]) if "therapies" in cleaned else None
        sources = None
        for formset in formsets:
            if formset.model is Source:
                sources = self._sources_of(formset)
        if not change:
            decision = decision_create(
                by=request.user,
                therapies=therapies or [],
                sources=sources or [],
                slug=cleaned.get("slug") or None,
                **data,
            )
            # The admin's messages and redirect need the new row's id.
            form.instance.pk, form.instance.slug = decision.pk, decision.slug
            form.instance._state.adding = False
            return
        decision_update(
            decision=form.instance,
            by=request.user,
            data=data,
            therapies=therapies,
            sources=sources,
            slug=cleaned.get("slug"),
            version=cleaned.get("based_on_version"),
            change_kind=cleaned.get("change_kind") or None,
            note=cleaned.get("change_note", ""),
        )

    @staticmethod
    def _sources_of(formset) -> list[dict[str, Any]]:
        """The sources as the inline leaves them, for the service; and what
        changed, for the admin's change message (formset.save() would say)."""
        kept, formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], [], []
        for form in formset.forms:
            is_initial = form.instance.pk is not None
            if form in formset.deleted_forms:
                if is_initial:
                    formset.deleted_objects.append(form.instance)
                continue
            if not is_initial and not form.has_changed():
                continue  # an empty extra form
            kept.append({name: form.cleaned_data.get(name) for name in SOURCE_FIELDS})
            if not is_initial:
                formset.new_objects.append(form.instance)
            elif form.has_changed():
                formset.changed_objects.append((form.instance, form.changed_data))
        return kept

    def response_change(self, request, obj: Decision) -> HttpResponse:
        if "_publish" in request.POST:
            try:
                decision_publish(decision=obj, by=request.user)
            except ValidationError as exc:
                self.message_user(
                    request,
                    f"Your edits were saved, but “{obj}” was not published: {' '.join(exc.messages)}",
                    level=messages.ERROR,
                )
                return HttpResponseRedirect(request.path)
            self.message_user(request, f"“{obj}” was published; subscribers are being told.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:regulatory_decision_changelist"))
        return super().response_change(request, obj)

    def delete_model(self, request, obj: Decision) -> None:
        decision_delete_draft(decision=obj, by=request.user)

    def delete_queryset(self, request, queryset: QuerySet[Decision]) -> None:
        for decision in queryset:
            decision_delete_draft(decision=decision, by=request.user)

    # --- retraction ---------------------------------------------------------------

    def retract_view(self, request: HttpRequest, object_id: str, confirmed: bool = True) -> HttpResponse:
        """The confirmation page of a retraction, which says it is permanent;
        only its own POST (confirmed) retracts. The edit form's "Retraction"
        choice lands here, with its note and version."""
        decision = self.get_object(request, unquote(object_id))
        if decision is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, decision) or not decision.is_live:
            raise PermissionDenied
        if request.method == "POST" and confirmed:
            form = RetractForm(request.POST)
            if form.is_valid():
                try:
                    decision_retract(
                        decision=decision,
                        by=request.user,
                        note=form.cleaned_data["note"],
                        version=form.cleaned_data["version"],
                    )
                except EditConflict as exc:
                    form.add_error(None, exc.messages)
                except ValidationError as exc:
                    form.add_error(
                        "note" if hasattr(exc, "error_dict") and "note" in exc.error_dict else None, exc.messages
                    )
                else:
                    self.log_change(request, decision, [{"changed": {"fields": ["State"]}}])
                    self.message_user(request, f"“{decision}” was retracted.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:regulatory_decision_change", args=[decision.pk]))
        elif request.method == "POST":
            form = RetractForm(
                initial={
                    "note": request.POST.get("change_note", ""),
                    "version": request.POST.get("based_on_version") or decision.version,
                }
            )
        else:
            form = RetractForm(initial={"version": decision.version})
        context = {
            **self.admin_site.each_context(request),
            "title": "Retract this decision?",
            "opts": self.opts,
            "original": decision,
            "form": form,
            "change_url": reverse("admin:regulatory_decision_change", args=[decision.pk]),
            "retract_url": reverse("admin:regulatory_decision_retract", args=[decision.pk]),
        }
        return TemplateResponse(request, "admin/regulatory/decision/retract_confirmation.html", context)


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
