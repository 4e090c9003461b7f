"""What every record admin shares: ISO dates in forms, the history view, the reference-data base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib.admin.widgets import AdminDateWidget
from django.db import models
from django.http import HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin

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

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = {
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
