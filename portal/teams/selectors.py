"""Reads of a team's page, scoped to the user's teams (others get 404)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.choices import ACTIVE_REQUEST_STATES
from portal.models import Membership, ResourceRequest, Team
from portal.quota_requests.kind import QUOTA_CHANGE
from portal.selectors import teams_for

AnyUser = User | AnonymousUser


def team_get(user: AnyUser, slug: str) -> Team:
    """One of the user's teams by its slug, with its quota, or 404."""
    return get_object_or_404(teams_for(user).select_related("quota"), slug=slug)


def members_of(team: Team) -> QuerySet[Membership]:
    """The team's memberships with their users, by username (the caller already scoped the team)."""
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def membership_get(team: Team, membership_id: int) -> Membership:
    """One membership of the team, or 404."""
    return get_object_or_404(members_of(team), pk=membership_id)


def quota_change_waiting(team: Team) -> ResourceRequest | None:
    """The team's quota change waiting for a decision, if any."""
    return (
        ResourceRequest.objects.filter(team=team, kind=QUOTA_CHANGE, state__in=ACTIVE_REQUEST_STATES)
        .select_related("requested_by")
        .first()
    )


def quota_changes_decided(team: Team, limit: int = 5) -> QuerySet[ResourceRequest]:
    """The team's latest decided quota changes, newest first."""
    rows = ResourceRequest.objects.filter(team=team, kind=QUOTA_CHANGE).exclude(state__in=ACTIVE_REQUEST_STATES)
    return rows.select_related("decided_by")[:limit]
