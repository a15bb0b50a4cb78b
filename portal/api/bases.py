"""What every API viewset shares: reads scoped by selector and token, and how writes answer.

A viewset names the selector it reads through (``selected``); the base narrows it
to the token's teams, so no endpoint can forget either scope. A write that starts
a job answers ``202 Accepted`` with the job and a ``Location`` to poll; an ask
answers ``201 Created`` with the request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.scoping import require_team_in_scope, scope_teams
from portal.api.serializers import ErrorSerializer, JobSerializer, RequestSerializer
from portal.models import Job, ResourceRequest


class ScopedViewSet(viewsets.GenericViewSet):
    """Reads through a selector (``selected``), narrowed to the token's teams through ``team_field``."""

    #: Rows are addressed by their numeric id unless a viewset says otherwise (VMs by UUID).
    lookup_value_regex = "[0-9]+"
    #: The path from a row to its team ("team"; "pk" for teams; None for rows of no team).
    team_field: str | None = "team"
    #: Whether rows of no team (shared networks) stay visible to restricted tokens.
    shared: bool = False

    def selected(self) -> QuerySet[Any]:
        """The selector's queryset for ``self.request.user``."""
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.selected()
        if self.team_field is None:
            return queryset
        return scope_teams(self.request, queryset, self.team_field, shared=self.shared)


def in_scope(request: Request, row: Model) -> Model:
    """A row fetched by a selector, once the token may reach its team (else 404)."""
    require_team_in_scope(request, getattr(row, "team_id", None))
    return row


def job_accepted(job: Job) -> Response:
    """``202 Accepted``: the job that will do the work, and where to poll it."""
    location = reverse("api-job-detail", kwargs={"pk": job.pk})
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def request_created(resource_request: ResourceRequest) -> Response:
    """``201 Created``: the stored ask, waiting for an administrator's decision."""
    location = reverse("api-request-detail", kwargs={"pk": resource_request.pk})
    return Response(
        RequestSerializer(resource_request).data, status=status.HTTP_201_CREATED, headers={"Location": location}
    )


def error_responses(*codes: int) -> dict[int, Any]:
    """OpenAPI responses of the error shape for these status codes (what a write may answer besides success)."""
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


def since_param(request: Request, default_hours: int = 1) -> datetime:
    """The ``since`` query parameter of load samples (ISO 8601), an hour ago when absent."""
    text = request.query_params.get("since")
    if not text:
        return timezone.now() - timedelta(hours=default_hours)
    try:
        since = parse_datetime(text)
    except ValueError:
        since = None
    if since is None:
        raise exceptions.ValidationError({"since": ["Use an ISO 8601 date and time."]})
    return since
