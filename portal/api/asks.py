"""Asking for a resource through the API with the kind's own request form, exactly as the page does.

The kind's form is the allowlist and the validation (names, sizes, images, the
fields nobody may ask for, such as ``privileged``); :func:`ask_submit` hands what
it cleaned to the one ``request_submit`` service. :func:`form_serializer` only
describes a form's fields in the OpenAPI schema; it never validates anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from portal.api.errors import FormInvalid, form_errors
from portal.api.scoping import scope_teams
from portal.forms import ResourceRequestForm, form_add_quota_errors
from portal.models import ResourceRequest
from portal.quotas import QuotaExceeded
from portal.request_views import quota_preview
from portal.services import request_submit

#: JSON numbers may be any size; database ids and sizes are 64-bit integers at most.
LARGEST_INTEGER = 2**63 - 1


def _too_large(value: Any) -> bool:
    if isinstance(value, list):
        return any(_too_large(item) for item in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST_INTEGER


def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object whose whole numbers fit in 64 bits.

    A form compares a list of ids with one SQL ``IN``; a number no database column can
    hold would fail there as a server error instead of a field error.
    """
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    data = dict(request.data)
    too_large = {key: ["Use whole numbers that fit in 64 bits."] for key, value in data.items() if _too_large(value)}
    if too_large:
        raise exceptions.ValidationError(too_large)
    return data


def form_bound(form_class: type[ResourceRequestForm], request: Request) -> ResourceRequestForm:
    """The kind's form bound to the JSON body, its teams narrowed to what the token may reach."""
    form = form_class(json_object(request), user=request.user)
    team_field = form.fields["team"]
    team_field.queryset = scope_teams(request, team_field.queryset, field="pk")  # type: ignore[attr-defined]
    return form


def ask_submit(form_class: type[ResourceRequestForm], request: Request) -> ResourceRequest:
    """Submit an ask; a form, quota or name error is raised with the messages the page shows."""
    form = form_bound(form_class, request)
    if not form.is_valid():
        raise FormInvalid(form)
    data = form.cleaned_data
    vcpus, memory_mib, disk_gib = form.sizes(data)
    try:
        return request_submit(
            actor=request.user, team=data["team"], kind=form.kind, name=data["name"], vcpus=vcpus,
            memory_mib=memory_mib, disk_gib=disk_gib, justification=data["justification"], spec=form.spec(data),
            lease_ends_at=data.get("lease_ends_at"),
        )  # fmt: skip
    except QuotaExceeded as error:
        form_add_quota_errors(form, error)
    except DjangoValidationError as error:
        form.add_error(None, error)
    raise FormInvalid(form)


def amount_json(value: Decimal | int) -> float | int:
    """An amount as a JSON number (CPU shares are fractional, the rest whole)."""
    return float(value) if isinstance(value, Decimal) and value != value.to_integral() else int(value)


def ask_preview(form_class: type[ResourceRequestForm], request: Request) -> dict[str, Any]:
    """What the team would have left after this ask, and the form's errors so far; nothing is stored."""
    form = form_bound(form_class, request)
    valid = form.is_valid()
    preview = quota_preview(form)
    team = preview["preview_team"]
    return {
        "fits": valid and not preview["shortfalls"],
        "team": team.pk if team is not None else None,
        "errors": form_errors(form),
        "shortfalls": [str(shortfall) for shortfall in preview["shortfalls"]],
        "quota": [
            {
                "resource": bar.resource.field,
                "label": bar.resource.label,
                "limit": amount_json(bar.limit),
                "used": amount_json(bar.used),
                "pending": amount_json(bar.pending),
                "free": amount_json(bar.free),
                "asked": amount_json(preview["demand"].get(bar.resource.field)),
            }
            for bar in preview["bars"]
        ],
    }


def _field_for_schema(field: forms.Field) -> serializers.Field:
    options: dict[str, Any] = {"required": field.required, "help_text": str(field.help_text) or None}
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=serializers.IntegerField(), **options)
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(**options)
    if isinstance(field, forms.ChoiceField):
        choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
        return serializers.ChoiceField(choices=[c for c in choices if c[0] != ""], **options)
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=field.max_digits, decimal_places=field.decimal_places, min_value=field.min_value,
            max_value=field.max_value, coerce_to_string=False, **options,
        )  # fmt: skip
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(min_value=field.min_value, max_value=field.max_value, **options)  # type: ignore[arg-type]
    if isinstance(field, forms.DateField):
        return serializers.DateField(**options)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**options)
    max_length = getattr(field, "max_length", None)
    return serializers.CharField(max_length=max_length, allow_blank=not field.required, **options)  # type: ignore[arg-type]


def form_serializer(form_class: type[forms.Form], name: str, **form_kwargs: Any) -> type[serializers.Serializer]:
    """A serializer describing ``form_class``'s fields, for the schema only (the form validates)."""
    form = form_class(**form_kwargs)
    fields = {field_name: _field_for_schema(field) for field_name, field in form.fields.items()}
    return type(name, (serializers.Serializer,), {**fields, "__doc__": form_class.__doc__})


def form_valid(form: forms.Form) -> dict[str, Any]:
    """A bound form's cleaned data, or its errors raised as the API shows them."""
    if not form.is_valid():
        raise FormInvalid(form)
    return form.cleaned_data
