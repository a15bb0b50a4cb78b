"""Team VM networks as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from hypervisors.choices import HypervisorKind, NetworkJobAction, NetworkKind
from hypervisors.models import AddressPool, Host, VirtualNetwork
from hypervisors.networks.addressing import host_lock, subnet_allocate
from portal.kinds import KindHandler
from portal.models import ResourceRequest


def network_create_from_request(request: ResourceRequest) -> VirtualNetwork:
    """The network row an approved request builds, with a subnet cut from the pool on its host."""
    host = Host.objects.filter(pk=request.spec.get("host_id")).first() or network_host()
    locked = host_lock(host.pk)
    pool = AddressPool.objects.filter(pk=request.spec.get("pool_id")).first() or AddressPool.objects.first()
    if pool is None:
        raise ValidationError("No address pool is configured; an administrator must add one.")
    return VirtualNetwork.objects.create(
        host=locked,
        team=request.team,
        request=request,
        name=request.name,
        kind=request.spec.get("kind", NetworkKind.NAT),
        subnet=subnet_allocate(host=locked, pool=pool),
    )


def network_host() -> Host:
    """Where a new team network goes: a reachable host that accepts new VMs (the first by name)."""
    host = Host.objects.filter(is_reachable=True, accepts_new_vms=True).first()
    if host is None:
        raise ValidationError("No reachable host takes new networks now.")
    return host


NETWORK_KIND = KindHandler(
    kind=HypervisorKind.NETWORK,
    label=HypervisorKind.NETWORK.label,
    model=VirtualNetwork,
    count_field="network_count",
    sizes={},
    resource_create=network_create_from_request,
    provision_action=NetworkJobAction.NETWORK_PROVISION,
    provision_task="hypervisors.tasks.network_provision",
    resource_url=lambda network: reverse("networks") + f"#network-{network.pk}",
    job_actions=dict(NetworkJobAction.choices),
    uncounted=Q(is_team_default=True),
)
