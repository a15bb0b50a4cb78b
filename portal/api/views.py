"""Endpoints of the shared domain: teams with their quota usage, requests and decisions, jobs, audit, tokens.

Reads go through ``portal.selectors`` (and ``portal.api.selectors``); writes through
``portal.services`` and ``portal.api.tokens``. Nothing here decides who may do what.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.bases import ScopedViewSet, error_responses, in_scope, job_accepted
from portal.api.filters import AuditEventFilterSet, JobFilterSet, RequestFilterSet
from portal.api.idempotency import idempotent
from portal.api.pagination import CursorPage, IdCursorPage, NumberedPage
from portal.api.selectors import audit_events_for, requests_for_decider, requests_pending_for_decider
from portal.api.serializers import (
    ApproveSerializer,
    AuditEventSerializer,
    ErrorSerializer,
    JobSerializer,
    RejectSerializer,
    RequestSerializer,
    TeamSerializer,
    TokenSerializer,
)
from portal.api.tokens import token_revoke, tokens_of
from portal.quotas import teams_usage
from portal.selectors import jobs_for, request_get, requests_for, roles_of, teams_for
from portal.services import request_approve, request_cancel, request_reject

ERRORS = error_responses(400, 403, 404, 409)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The user's teams, their role in each, and each team's quota: limit, used, pending and free per resource."""

    serializer_class = TeamSerializer
    pagination_class = NumberedPage
    team_field = "pk"

    def selected(self) -> QuerySet[Any]:
        return teams_for(self.request.user).select_related("quota").order_by("name")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "roles": roles_of(self.request.user)}

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        rows = args[0] if args else None
        if rows is not None:
            teams = list(rows) if kwargs.get("many") else [rows]
            kwargs["context"] = {**self.get_serializer_context(), "usage": teams_usage(teams)}
        return super().get_serializer(*args, **kwargs)


@extend_schema_view(
    cancel=extend_schema(request=None, responses={200: RequestSerializer, **ERRORS}),
    approve=extend_schema(request=ApproveSerializer, responses={202: JobSerializer, **ERRORS}),
    reject=extend_schema(request=RejectSerializer, responses={200: RequestSerializer, **ERRORS}),
)
class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Requests of the user's teams; the person who asked (or a team admin) cancels, administrators decide.

    Asking goes through each kind's endpoint (``/vms/``, ``/containers/``, ...), which uses the kind's form.
    """

    serializer_class = RequestSerializer
    pagination_class = IdCursorPage
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = RequestFilterSet
    ordering_fields = ("id",)

    def selected(self) -> QuerySet[Any]:
        if self.action == "pending":
            return requests_pending_for_decider(self.request.user)
        return requests_for(self.request.user)

    @extend_schema(responses=RequestSerializer(many=True))
    @action(detail=False, pagination_class=None, filter_backends=(DjangoFilterBackend,))
    def pending(self, request: Request) -> Response:
        """Every team's pending requests, oldest first: portal administrators (staff with the decide permission).

        Not paged: what waits for a decision is a short list, and an administrator works through all of it.
        """
        rows = self.filter_queryset(self.get_queryset())
        return Response(RequestSerializer(rows, many=True).data)

    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        """Withdraw a pending request (its author or a team admin); the quota it held is free again."""
        resource_request = in_scope(request, request_get(request.user, int(pk)))
        updated = request_cancel(actor=request.user, request_id=resource_request.pk)
        return Response(RequestSerializer(updated).data)

    def _decidable(self, request: Request, pk: str) -> Any:
        return in_scope(request, get_object_or_404(requests_for_decider(request.user), pk=int(pk)))

    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str) -> Response:
        """Approve: the quota is checked again and the provisioning job starts (202, poll the job)."""
        reason = str(request.data.get("reason", "")) if isinstance(request.data, dict) else ""
        resource_request = self._decidable(request, pk)
        job = request_approve(actor=request.user, request_id=resource_request.pk, reason=reason)
        if job is None:  # a kind applied at approval (a quota change, a lease extension): done, nothing to poll
            resource_request.refresh_from_db()
            return Response(RequestSerializer(resource_request).data)
        return job_accepted(job)

    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str) -> Response:
        """Reject with a reason, which the person who asked reads."""
        reason = str(request.data.get("reason", "")) if isinstance(request.data, dict) else ""
        resource_request = self._decidable(request, pk)
        updated = request_reject(actor=request.user, request_id=resource_request.pk, reason=reason)
        return Response(RequestSerializer(updated).data)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Jobs of the user's teams with their progress and step log: what a 202 answer says to poll."""

    serializer_class = JobSerializer
    pagination_class = IdCursorPage
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = JobFilterSet
    ordering_fields = ("id",)

    def selected(self) -> QuerySet[Any]:
        return jobs_for(self.request.user).select_related("target_type")


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The audit trail of the teams where the user is a team admin."""

    serializer_class = AuditEventSerializer
    pagination_class = CursorPage
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = AuditEventFilterSet
    ordering_fields = ("created_at",)

    def selected(self) -> QuerySet[Any]:
        return audit_events_for(self.request.user)


@extend_schema_view(destroy=extend_schema(responses={200: TokenSerializer, 404: ErrorSerializer}))
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    """The user's own API tokens (secrets are never shown again); DELETE revokes one. Tokens are made on /profile/."""

    serializer_class = TokenSerializer
    pagination_class = NumberedPage
    team_field = None

    def selected(self) -> QuerySet[Any]:
        return tokens_of(self.request.user)

    @idempotent
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = token_revoke(actor=request.user, token_id=int(kwargs["pk"]))
        return Response(TokenSerializer(token).data)
