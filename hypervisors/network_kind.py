"""Team networks as a kind of resource in the request pipeline, and their provisioning."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from hypervisors.addressing import host_lock, subnet_allocate
from hypervisors.choices import NetworkKind, NetworkState
from hypervisors.drivers import DriverError, HostUnreachable, NetworkSpec, driver_for
from hypervisors.models import AddressPool, Host, VirtualNetwork
from portal.choices import JobAction, RequestState, ResourceKind
from portal.jobs import job_step
from portal.kinds import KindHandler
from portal.models import Job, ResourceRequest, Team
from portal.provisioning import Builder, provision_run
from portal.quotas import Amounts

logger = logging.getLogger(__name__)

#: libvirt ``<forward mode>`` of each kind; "" means no forwarding (isolated).
FORWARD_MODES = {
    NetworkKind.NAT: "nat",
    NetworkKind.ROUTED: "route",
    NetworkKind.ISOLATED: "",
    NetworkKind.BRIDGED: "bridge",
    NetworkKind.OPENVSWITCH: "bridge",
}


def network_spec(network: VirtualNetwork) -> NetworkSpec:
    """The libvirt network a row describes."""
    return NetworkSpec(
        uuid=str(network.uuid),
        name=network.libvirt_name,
        forward=FORWARD_MODES.get(NetworkKind(network.kind), ""),
        subnet=network.subnet,
        bridge=network.bridge,
        openvswitch=network.kind == NetworkKind.OPENVSWITCH,
    )


def network_live_usage(team_ids: Sequence[int]) -> dict[int, Amounts]:
    """Networks a team holds outside an active request: one grouped query."""
    rows = (
        VirtualNetwork.objects.filter(team_id__in=team_ids)
        .filter(Q(request__isnull=True) | Q(request__state=RequestState.FULFILLED))
        .values("team_id")
        .annotate(count=Count("id"))
    )
    return {row["team_id"]: Amounts(network_count=row["count"]) for row in rows}


def network_name_in_use(team: Team, name: str) -> bool:
    return VirtualNetwork.objects.filter(team=team, name=name).exists()


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


def network_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Define and start the network of a provisioning job."""
    provision_run(NETWORK_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> VirtualNetwork | None:
    return VirtualNetwork.objects.select_related("host", "team").filter(request_id=job.request_id).first()


def network_bring_up(job: Job, network: VirtualNetwork) -> str:
    """Define (if absent) and start a network, recording each step; used by requests and by admins.

    User-mode networking lives inside each QEMU process: there is nothing to define.
    """
    if network.kind == NetworkKind.USER:
        job_step(job, "User-mode networking needs nothing on the host", 70)
        network.state = NetworkState.ACTIVE
        network.save(update_fields=["state"])
        return f"Network {network} is ready"
    with driver_for(network.host.uri) as driver:
        job_step(job, f"Defining network {network.libvirt_name} ({network.subnet or network.bridge})", 40)
        driver.network_define(network_spec(network))
        job_step(job, "Starting the network", 70)
        driver.network_start(str(network.uuid), autostart=network.autostart)
    network.state = NetworkState.ACTIVE
    network.save(update_fields=["state"])
    return f"Network {network.libvirt_name} is active"


def _cleanup(job: Job, network: VirtualNetwork) -> None:
    job_step(job, "Removing what was built", job.progress)
    try:
        with driver_for(network.host.uri) as driver:
            driver.network_delete(str(network.uuid))
    except DriverError as error:
        logger.error("Cleanup of network %s failed: %s", network, error)
    network.delete()


NETWORK_BUILDER = Builder(load=_load, build=network_bring_up, cleanup=_cleanup, unreachable=(HostUnreachable,))

NETWORK_KIND = KindHandler(
    kind=ResourceKind.NETWORK,
    count_field="network_count",
    live_usage=network_live_usage,
    name_in_use=network_name_in_use,
    resource_create=network_create_from_request,
    provision_action=JobAction.NETWORK_PROVISION,
    provision_task="hypervisors.tasks.network_provision",
)
