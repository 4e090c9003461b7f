"""How the API answers errors from the domain: a service's ValidationError
is a 400 keyed by field, a state that forbids the operation a 409."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.settings import api_settings


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The decision is not in a state that allows this."
    default_code = "conflict"


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a ValidationError from regulatory.services into a 400 whose keys
    are the fields at fault (`non_field_errors` for the rest)."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail = {
                (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): messages
                for name, messages in exc.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        raise ValidationError(detail) from None
