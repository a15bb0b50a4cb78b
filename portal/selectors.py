"""Reads of the shared domain, always scoped to the teams the user belongs to."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.choices import ROLE_RANK, Role
from portal.models import Job, ResourceRequest, Team

AnyUser = User | AnonymousUser


def teams_for(user: AnyUser, minimum_role: str = Role.VIEWER) -> QuerySet[Team]:
    """The teams the user may see (or, with ``minimum_role``, act in); superusers see all."""
    if not user.is_authenticated:
        return Team.objects.none()
    if getattr(user, "is_superuser", False):
        return Team.objects.all()
    roles = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role(minimum_role)]]
    return Team.objects.filter(memberships__user_id=user.pk, memberships__role__in=roles).distinct()


def requests_for(user: AnyUser) -> QuerySet[ResourceRequest]:
    """Requests of the user's teams, newest first."""
    return ResourceRequest.objects.filter(team__in=teams_for(user)).select_related("team", "requested_by", "decided_by")


def request_get(user: AnyUser, request_id: int) -> ResourceRequest:
    """One request of the user's teams, or 404."""
    return get_object_or_404(requests_for(user), pk=request_id)


def jobs_for(user: AnyUser) -> QuerySet[Job]:
    """Jobs of the user's teams, newest first."""
    return Job.objects.filter(team__in=teams_for(user)).select_related("team", "requested_by", "request")


def job_get(user: AnyUser, job_id: int) -> Job:
    """One job of the user's teams, or 404."""
    return get_object_or_404(jobs_for(user), pk=job_id)
