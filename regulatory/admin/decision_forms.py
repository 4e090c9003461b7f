"""The decision admin's forms: the decision form, its source formset and the retraction form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from regulatory.admin.base import SOURCE_INLINE_FIELDS, IsoDates
from regulatory.errors import EditConflict, EditRuleError
from regulatory.models import (
    ChangeKind,
    Decision,
    DecisionState,
    Source,
)
from regulatory.services import (
    DECISION_FIELDS,
    decision_check_edit,
)


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
        # Every editable field (the admin's fieldsets choose what is shown, and in what order).
        fields = ("slug", "therapies", *DECISION_FIELDS)

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
