"""The worker side of container network actions: removing a network from its engine.

Idempotent: removing a removed network is success, so a redelivered job is harmless.
"""

from __future__ import annotations

from containers.choices import ContainerNetworkJobAction
from containers.containers.operations import container_operate
from containers.drivers import EngineUnreachable
from containers.engines.services import engine_of
from containers.models import DockerNetwork
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run


def docker_network_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Worker side of a network action (see ``portal.operations``).

    Joining and leaving networks are container actions now; a job of that kind
    queued to this task before (same task name) is handed to the container's operator.
    """
    if Job.objects.filter(pk=job_id, action=ContainerNetworkJobAction.CONTAINER_NETWORK_DELETE).exists():
        operate_run(NETWORK_OPERATOR, job_id=job_id, final_attempt=final_attempt)
    else:
        container_operate(job_id=job_id, final_attempt=final_attempt)


def _remove(job: Job, network: DockerNetwork) -> str:
    job_step(job, f"Removing {network.engine_name}", 50)
    with engine_of(network.docker_host) as engine:
        engine.network_remove(network.engine_id or network.engine_name)
    network.delete()
    return "The network is gone; its quota is free"


NETWORK_OPERATOR = Operator(
    load=lambda job: DockerNetwork.objects.select_related("docker_host", "team").filter(pk=job.target_id).first(),
    operate=_remove,
    unreachable=(EngineUnreachable,),
    noun="network",
    where=lambda network: f"Engine {network.docker_host.name}",
    delete_action=ContainerNetworkJobAction.CONTAINER_NETWORK_DELETE,
    delete_verb="removed",
)
