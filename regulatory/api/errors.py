"""How the API answers errors from the domain, in one DRF exception handler
(settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]): a service's ValidationError
is a 400 keyed by field; a state that forbids the operation, or an edit based
on a version that is no longer current, a 409. Views do not re-check states:
the services do, once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from regulatory.errors import DecisionStateError, EditConflict


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The decision is not in a state that allows this."
    default_code = "conflict"


class PreconditionFailed(APIException):
    """If-Match named an entity tag that is not the decision's current one (RFC 9110, 13.1.1)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The decision has changed since the copy named by If-Match: GET it again and "
        "make your edit on the current version."
    )
    default_code = "precondition_failed"


def field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as DRF's 400 body: keys are the fields at
    fault, `non_field_errors` for the rest."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): messages
            for name, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, (DecisionStateError, EditConflict)):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(field_errors(exc))
    return drf_exception_handler(exc, context)
