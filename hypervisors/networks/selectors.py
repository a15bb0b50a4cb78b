"""Reads of VM networks."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from hypervisors.choices import NetworkState
from hypervisors.models import Host, VirtualNetwork
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


def host_shared_network(host: Host) -> VirtualNetwork | None:
    """The network VMs asked for without one join instead of their team's own: only one an admin shared.

    That is a shared row (no team) on the host whose libvirt name is the host's
    ``network``; the libvirt network of that name alone, shared by nobody's
    choice, is never used.
    """
    if not host.network:
        return None
    shared = VirtualNetwork.objects.filter(host=host, team__isnull=True, libvirt_name=host.network)
    return shared.exclude(state=NetworkState.BUILDING).first()


def network_get(user: AnyUser, network_id: int) -> VirtualNetwork:
    """A network of one of the user's teams, or 404 (shared networks are run from the admin)."""
    return get_object_or_404(VirtualNetwork.objects.for_user(user), pk=network_id)
