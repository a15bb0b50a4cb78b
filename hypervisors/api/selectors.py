"""Reads the API adds on VMs' surroundings, scoped like the pages."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from hypervisors.models import Host, VirtualMachine, VirtualNetwork
from portal.selectors import teams_for

AnyUser = User | AnonymousUser


def vm_networks_visible(user: AnyUser) -> QuerySet[VirtualNetwork]:
    """Networks the user's VMs may be on: shared ones and their teams' own (as the VM request form offers)."""
    if not user.is_authenticated:
        return VirtualNetwork.objects.none()
    return (
        VirtualNetwork.objects.filter(Q(team__isnull=True) | Q(team__in=teams_for(user)))
        .select_related("host", "team")
        .order_by("host__name", "name")
    )


def hosts_visible(user: AnyUser) -> QuerySet[Host]:
    """Hosts the user may know of: every one for staff; for members, those their VMs or networks are on."""
    if not user.is_authenticated:
        return Host.objects.none()
    if getattr(user, "is_staff", False):
        return Host.objects.order_by("name")
    teams = teams_for(user)
    vm_hosts = VirtualMachine.objects.filter(team__in=teams).values("host_id")
    network_hosts = VirtualNetwork.objects.filter(Q(team__isnull=True) | Q(team__in=teams)).values("host_id")
    return Host.objects.filter(Q(pk__in=vm_hosts) | Q(pk__in=network_hosts)).order_by("name")
