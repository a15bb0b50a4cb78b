"""Reads of the shared domain, always scoped to the teams the user belongs to."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.choices import Role, roles_at_least
from portal.models import Job, Membership, ResourceRequest, Team

AnyUser = User | AnonymousUser


def teams_for(user: AnyUser, minimum_role: str = Role.VIEWER) -> QuerySet[Team]:
    """The teams the user may see (or, with ``minimum_role``, act in); superusers see all."""
    if not user.is_authenticated:
        return Team.objects.none()
    if getattr(user, "is_superuser", False):
        return Team.objects.all()
    roles = roles_at_least(minimum_role)
    return Team.objects.filter(memberships__user_id=user.pk, memberships__role__in=roles).distinct()


def requests_for(user: AnyUser) -> QuerySet[ResourceRequest]:
    """Requests of the user's teams, newest first."""
    return ResourceRequest.objects.filter(team__in=teams_for(user)).select_related(
        "team", "requested_by", "decided_by", "approval_policy"
    )


def request_get(user: AnyUser, request_id: int) -> ResourceRequest:
    """One request of the user's teams, or 404."""
    return get_object_or_404(requests_for(user), pk=request_id)


def jobs_for(user: AnyUser) -> QuerySet[Job]:
    """Jobs of the user's teams, newest first."""
    return Job.objects.filter(team__in=teams_for(user)).select_related("team", "requested_by", "request")


def job_get(user: AnyUser, job_id: int) -> Job:
    """One job of the user's teams, or 404."""
    return get_object_or_404(jobs_for(user), pk=job_id)


def roles_of(user: AnyUser) -> dict[int, str]:
    """The user's role in each of their teams, by team id; superusers are team admins of every team."""
    if not user.is_authenticated:
        return {}
    if getattr(user, "is_superuser", False):
        return dict.fromkeys(Team.objects.values_list("pk", flat=True), Role.TEAM_ADMIN)
    return dict(Membership.objects.filter(user_id=user.pk).values_list("team_id", "role"))


def team_with_quota(user: AnyUser, team_id: int) -> Team | None:
    """One of the user's teams with its quota row loaded, or None."""
    return teams_for(user).select_related("quota").filter(pk=team_id).first()
