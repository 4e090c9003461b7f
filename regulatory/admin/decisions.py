"""The decision admin: drafts edited freely, published decisions amended, corrected or retracted through regulatory.services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from regulatory.admin.base import RecordHistoryAdmin
from regulatory.admin.decision_forms import DecisionAdminForm, RetractForm, SourceInline, _edit_is_retraction
from regulatory.errors import EditConflict
from regulatory.models import (
    Decision,
    DecisionState,
    Source,
)
from regulatory.services import (
    DECISION_FIELDS,
    SOURCE_FIELDS,
    decision_create,
    decision_delete_draft,
    decision_publish,
    decision_retract,
    decision_update,
)


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
