"""Every error answer has one shape, with the services' own messages and consistent status codes."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions

from portal.actions import ActionRefused
from portal.amounts import RESOURCES
from portal.api.errors import api_exception_handler
from portal.quotas import QuotaExceeded, Shortfall
from portal.services import InvalidTransition

VCPUS = next(r for r in RESOURCES if r.field == "vcpus")


@pytest.mark.parametrize(
    ("exc", "status", "errors"),
    [
        (ValidationError({"name": "Taken."}), 400, {"name": ["Taken."]}),
        (ValidationError("Whole form."), 400, {"non_field_errors": ["Whole form."]}),
        (QuotaExceeded([Shortfall(VCPUS, 4, 1)]), 400, {"vcpus": [str(Shortfall(VCPUS, 4, 1))]}),
        (ActionRefused("Busy."), 409, {}),
        (InvalidTransition("Not pending."), 409, {}),
        (PermissionDenied("Members only."), 403, {}),
        (Http404("x"), 404, {}),
        (exceptions.Throttled(wait=7), 429, {}),
        (exceptions.ValidationError(["a"]), 400, {"non_field_errors": ["a"]}),
    ],
)
def test_one_shape(exc, status, errors):
    response = api_exception_handler(exc, {})
    assert response.status_code == status
    assert set(response.data) == {"detail", "errors"}
    assert response.data["errors"] == errors
    assert response.data["detail"]


def test_messages_are_kept():
    assert api_exception_handler(PermissionDenied("Members only."), {}).data["detail"] == "Members only."
    assert api_exception_handler(ActionRefused("Busy."), {}).data["detail"] == "Busy."


def test_throttled_says_when_to_come_back():
    assert api_exception_handler(exceptions.Throttled(wait=7), {})["Retry-After"] == "7"


def test_unknown_errors_stay_server_errors():
    assert api_exception_handler(RuntimeError("boom"), {}) is None
