"""Building an approved team network on its host, step by step, recorded in its job.

The shared skeleton (``portal.provisioning``) checks the quota, moves the
request, retries an unreachable host and cleans up after any failure.
"""

from __future__ import annotations

import logging

from hypervisors.choices import NetworkKind, NetworkState
from hypervisors.drivers import DriverError, HostUnreachable, HypervisorDriver, NetworkSpec, driver_for
from hypervisors.models import VirtualNetwork
from portal.jobs import job_step
from portal.models import Job
from portal.provisioning import Builder, provision_run

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
        job_step(job, f"Defining and starting network {network.libvirt_name} ({network.subnet or network.bridge})", 40)
        network_make(driver, network)
    return f"Network {network.libvirt_name} is active"


def network_make(driver: HypervisorDriver, network: VirtualNetwork) -> None:
    """Define (if absent) and start a network on its host, and record it active. Idempotent."""
    driver.network_define(network_spec(network))
    driver.network_start(str(network.uuid), autostart=network.autostart)
    if network.state != NetworkState.ACTIVE:
        network.state = NetworkState.ACTIVE
        network.save(update_fields=["state"])


def _cleanup(job: Job, network: VirtualNetwork) -> None:
    job_step(job, "Removing what was built", job.progress)
    try:
        with driver_for(network.host.uri) as driver:
            driver.network_delete(str(network.uuid))
    except DriverError as error:
        logger.error("Cleanup of network %s failed: %s", network, error)
    network.delete()


NETWORK_BUILDER = Builder(load=_load, build=network_bring_up, cleanup=_cleanup, unreachable=(HostUnreachable,))
