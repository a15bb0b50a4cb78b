"""Reads of VM networks."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from hypervisors.choices import NetworkState
from hypervisors.models import VirtualNetwork
from portal.models import Team

AnyUser = User | AnonymousUser


def networks_usable_by(team: Team | None) -> QuerySet[VirtualNetwork]:
    """Networks a team's VMs may join: the shared ones and the team's own, once built."""
    usable = Q(team__isnull=True) | Q(team=team) if team is not None else Q(team__isnull=True)
    return (
        VirtualNetwork.objects.filter(usable)
        .exclude(state=NetworkState.BUILDING)
        .select_related("host", "team")
        .order_by("host__name", "name")
    )


def network_get(user: AnyUser, network_id: int) -> VirtualNetwork:
    """A network of one of the user's teams, or 404 (shared networks are run from the admin)."""
    return get_object_or_404(VirtualNetwork.objects.for_user(user), pk=network_id)
