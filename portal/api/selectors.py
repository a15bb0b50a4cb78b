"""Reads the API adds on the shared domain, scoped like every other read."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from portal.choices import RequestState, Role
from portal.models import AuditEvent, ResourceRequest
from portal.permissions import is_decider
from portal.selectors import teams_for

AnyUser = User | AnonymousUser


def requests_for_decider(user: AnyUser) -> QuerySet[ResourceRequest]:
    """Every team's requests, for a portal administrator (staff with the decide permission); none for others."""
    if not is_decider(user):
        return ResourceRequest.objects.none()
    return ResourceRequest.objects.select_related("team", "requested_by", "decided_by", "approval_policy")


def requests_pending_for_decider(user: AnyUser) -> QuerySet[ResourceRequest]:
    """Every team's pending requests, oldest first: what a portal administrator has to decide."""
    return requests_for_decider(user).filter(state=RequestState.PENDING).order_by("created_at", "id")


def audit_events_for(user: AnyUser) -> QuerySet[AuditEvent]:
    """Audit events of the teams where the user is a team admin (superusers: every team's), newest first."""
    return AuditEvent.objects.filter(team__in=teams_for(user, Role.TEAM_ADMIN)).select_related(
        "actor", "team", "target_type"
    )
