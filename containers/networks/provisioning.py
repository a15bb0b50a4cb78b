"""Creating an approved container network on its engine, step by step, recorded in its job.

Idempotent: the engine name is fixed (``<team>.<name>``), so a redelivered task
finds the network it created. The shared skeleton (``portal.provisioning``)
does the quota check, the request's moves, retries and cleanup.
"""

from __future__ import annotations

import logging

from containers.choices import DockerNetworkState
from containers.drivers import EngineError, EngineUnreachable
from containers.engines.services import engine_of
from containers.models import DockerNetwork
from containers.networks.services import docker_network_labels
from portal.jobs import job_step
from portal.models import Job
from portal.provisioning import Builder, provision_run

logger = logging.getLogger(__name__)


def docker_network_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Create the container network of a provisioning job."""
    provision_run(DOCKER_NETWORK_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> DockerNetwork | None:
    return DockerNetwork.objects.select_related("team", "docker_host").filter(request_id=job.request_id).first()


def _build(job: Job, network: DockerNetwork) -> str:
    job_step(job, f"Creating bridge network {network.engine_name} on {network.docker_host}", 50)
    with engine_of(network.docker_host) as engine:
        created = engine.network_create(name=network.engine_name, labels=docker_network_labels(network))
    network.engine_id, network.subnet, network.state = created.engine_id, created.subnet, DockerNetworkState.ACTIVE
    network.save(update_fields=["engine_id", "subnet", "state"])
    return f"Network {network.engine_name} is ready ({network.subnet or 'subnet chosen by the engine'})"


def _cleanup(job: Job, network: DockerNetwork) -> None:
    job_step(job, "Removing what was built", job.progress)
    try:
        with engine_of(network.docker_host) as engine:
            engine.network_remove(network.engine_id or network.engine_name)
    except EngineError as error:
        logger.error("Cleanup of container network %s failed: %s", network, error)
    network.delete()


DOCKER_NETWORK_BUILDER = Builder(load=_load, build=_build, cleanup=_cleanup, unreachable=(EngineUnreachable,))
