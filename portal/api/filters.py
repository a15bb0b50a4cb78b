"""List filters of the shared domain's endpoints (django-filter): team, state, kind, action, time created."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from portal.choices import JobState, RequestState
from portal.models import AuditEvent, Job, ResourceRequest

#: The largest primary key a database holds (a 64-bit signed integer).
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number a database can hold, else a 400 (never an overflow deep in the query)."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned into UTC here: a database refuses offsets that Python accepts (``+22:27``)."""

    def to_python(self, value: object) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:  # the year leaves 1..9999 once in UTC
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class CreatedRangeFilterSet(django_filters.FilterSet):
    """``team`` (id) and ``created_after`` / ``created_before`` (ISO 8601), shared by every team-owned list."""

    team = IdFilter(field_name="team_id")
    created_after = TimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = TimeFilter(field_name="created_at", lookup_expr="lt")


class RequestFilterSet(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=RequestState.choices)
    kind = django_filters.CharFilter()

    class Meta:
        model = ResourceRequest
        fields = ("team", "state", "kind", "created_after", "created_before")


class JobFilterSet(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=JobState.choices)
    action = django_filters.CharFilter()
    request = IdFilter(field_name="request_id")

    class Meta:
        model = Job
        fields = ("team", "state", "action", "request", "created_after", "created_before")


class AuditEventFilterSet(CreatedRangeFilterSet):
    action = django_filters.CharFilter()

    class Meta:
        model = AuditEvent
        fields = ("team", "action", "created_after", "created_before")
