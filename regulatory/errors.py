"""Typed errors of regulatory.services.

Each is a Django ValidationError, so that every entry point that already
shows a ValidationError (the admin's messages and forms, the loader's
DatasetError, tests) keeps working; entry points that need to tell them apart
(the API: 400, 409 or 412) catch the subclass. Each error's `error_dict` names
the service argument at fault (`change_kind`, `note`, `slug`, `version`,
`sources`), which the API passes on as the field and the admin maps to its
form fields.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DecisionStateError(ValidationError):
    """The decision's state does not allow the operation (publishing a
    decision that is not a draft, editing or retracting a retracted one,
    deleting a published one). Not the client's input at fault: a 409."""


class EditConflict(ValidationError):
    """The edit was based on a version of the decision that is no longer the
    current one: someone else changed it meanwhile. Applying it would silently
    undo their edit, so it is refused (a 409; a 412 for a failed If-Match)."""

    MESSAGE = "Someone else changed this decision since you opened it; reload it and make your edit again."

    def __init__(self, *, expected: int | None, current: int | None) -> None:
        self.expected, self.current = expected, current
        super().__init__({"version": [self.MESSAGE]}, code="conflict")


class EditRuleError(ValidationError):
    """An edit of the public record lacks what the record needs to explain it."""


class EditNeedsKind(EditRuleError):
    """A published decision's edit must say whether it is an amendment or a correction."""


class EditNeedsNote(EditRuleError):
    """A published decision's edit needs a public note saying what changed and why."""


class EditNeedsKindAndNote(EditNeedsKind, EditNeedsNote):
    """Both are missing: caught as either, reported with both fields."""


class SlugIsFixed(EditRuleError):
    """A published decision's slug is cited in links and exports: it never changes."""
