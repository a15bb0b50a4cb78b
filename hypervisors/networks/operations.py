"""The worker side of VM network actions: start, stop or delete a network on its host.

Every operation is idempotent (stopping a stopped network, deleting a deleted
one: success), so a redelivered job is harmless.
"""

from __future__ import annotations

from hypervisors.choices import NetworkJobAction, NetworkKind, NetworkState
from hypervisors.drivers import HostUnreachable, driver_for
from hypervisors.models import VirtualNetwork
from hypervisors.networks.provisioning import network_bring_up
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run


def network_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Worker side of a network action (see ``portal.operations``)."""
    operate_run(NETWORK_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, network: VirtualNetwork) -> str:
    if job.action == NetworkJobAction.NETWORK_START:
        return network_bring_up(job, network)
    if network.kind == NetworkKind.USER:  # nothing on the host to stop or remove
        if job.action == NetworkJobAction.NETWORK_STOP:
            network.state = NetworkState.INACTIVE
            network.save(update_fields=["state"])
            return "The network is stopped"
        network.delete()
        return "The network is gone"
    with driver_for(network.host.uri) as driver:
        if job.action == NetworkJobAction.NETWORK_STOP:
            job_step(job, "Stopping the network", 50)
            driver.network_stop(str(network.uuid))
            network.state = NetworkState.INACTIVE
            network.save(update_fields=["state"])
            return "The network is stopped"
        job_step(job, "Removing the network from the host", 50)
        driver.network_delete(str(network.uuid))
    network.delete()
    return "The network is gone"


NETWORK_OPERATOR = Operator(
    load=lambda job: VirtualNetwork.objects.select_related("host", "team").filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(HostUnreachable,),
    noun="network",
    where=lambda network: f"Host {network.host.name}",
    delete_action=NetworkJobAction.NETWORK_DELETE,
)
