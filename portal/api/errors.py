"""One error shape for the whole API: ``{"detail": "...", "errors": {"field": ["..."]}}``.

The messages are those the pages show: form errors come from the same forms, and
the services' own exceptions (quota, role, state) keep their text. Status codes:
400 invalid input or over quota, 401 not authenticated, 403 role or token refuses,
404 not found (or another team's), 409 the object's state refuses the action,
429 throttled (with ``Retry-After``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.actions import ActionRefused
from portal.quotas import QuotaExceeded
from portal.services import InvalidTransition

#: Where errors that concern no single field go.
NON_FIELD = "non_field_errors"


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    """A bound form's errors as the API shows them, non-field errors under ``non_field_errors``."""
    return {
        (NON_FIELD if field == NON_FIELD_ERRORS else field): [str(item["message"]) for item in items]
        for field, items in form.errors.get_json_data().items()
    }


class FormInvalid(exceptions.ValidationError):
    """A form refused the input; its errors travel as they are."""

    def __init__(self, form: forms.Form) -> None:
        super().__init__(form_errors(form))


class Conflict(exceptions.APIException):
    """The object's state (or another job on it) does not allow this now."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state does not allow this now."
    default_code = "conflict"


def django_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as field errors."""
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD if field == NON_FIELD_ERRORS else field): [str(m) for m in DjangoValidationError(v)]
            for field, v in error.error_dict.items()
        }
    return {NON_FIELD: [str(message) for message in error.messages]}


def _first(errors: dict[str, list[str]], default: str) -> str:
    for messages in errors.values():
        if messages:
            return messages[0]
    return default


def _translate(exc: Exception) -> Exception:
    """The services' exceptions as DRF ones, keeping their messages."""
    if isinstance(exc, QuotaExceeded):
        errors = {shortfall.resource.field: [str(shortfall)] for shortfall in exc.shortfalls}
        return exceptions.ValidationError(errors)
    if isinstance(exc, (ActionRefused, InvalidTransition)):
        return Conflict(" ".join(exc.messages))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_errors(exc))
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (it sets ``Retry-After`` and ``WWW-Authenticate``), answered in the one shape."""
    response = exception_handler(_translate(exc), context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" not in data:
        errors = {key: [str(v) for v in (value if isinstance(value, list) else [value])] for key, value in data.items()}
        response.data = {"detail": _first(errors, "Invalid input."), "errors": errors}
    elif isinstance(data, list):
        errors = {NON_FIELD: [str(item) for item in data]}
        response.data = {"detail": _first(errors, "Invalid input."), "errors": errors}
    else:
        response.data = {"detail": str(data.get("detail", "")), "errors": {}}
    return response
