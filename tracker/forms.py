"""Forms for the subscribe and manage pages. They only collect input; the
rules (known codes, cadences, address syntax) are in services, shared with
the API and the importer."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from regulatory.models import DecisionKind
from tracker import selectors, services
from tracker.addresses import EMAIL_MAX_LENGTH
from tracker.models import Cadence


class ScopeForm(forms.Form):
    cadence = forms.ChoiceField(choices=Cadence.choices, initial=Cadence.INSTANT, widget=forms.RadioSelect)
    jurisdictions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: every jurisdiction."
    )
    therapies = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: every therapy."
    )
    kinds = forms.MultipleChoiceField(
        choices=DecisionKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Kinds of decision",
        help_text="None ticked: every kind.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        jurisdictions, therapies = selectors.scope_choices()
        # Both are the MultipleChoiceFields declared above; `fields` is typed for any Field.
        cast(forms.MultipleChoiceField, self.fields["jurisdictions"]).choices = [
            (j.code, j.name) for j in jurisdictions
        ]
        cast(forms.MultipleChoiceField, self.fields["therapies"]).choices = [(t.slug, t.name) for t in therapies]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            data["scope"] = services.scope_validate(
                cadence=data["cadence"],
                jurisdictions=data.get("jurisdictions") or [],
                therapies=data.get("therapies") or [],
                kinds=data.get("kinds") or [],
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return data


class SubscribeForm(ScopeForm):
    email = forms.CharField(max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    field_order = ["email", "cadence", "jurisdictions", "therapies", "kinds"]

    def clean_email(self) -> str:
        try:
            return services.email_validate(self.cleaned_data["email"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["email"]) from None
