"""Creating an approved container on its engine, step by step, recorded in its job.

Idempotent: the engine name is fixed (``<team>.<name>``), so a redelivered task
finds the container it created, and the team's own network is made only if
absent. The shared skeleton (``portal.provisioning``)
does the quota check, the request's moves, retries and cleanup.
"""

from __future__ import annotations

import logging

from django.db import transaction

from containers.choices import DockerNetworkState
from containers.drivers import ContainerEngine, ContainerSpec, EngineError, EngineUnreachable, PortMapping
from containers.engines.services import engine_of
from containers.models import Container, DockerNetwork
from containers.networks.services import docker_network_labels, team_network_ensure
from containers.secrets import environment_open
from portal.bases import team_network_name
from portal.jobs import job_step
from portal.models import Job
from portal.provisioning import Builder, provision_run

logger = logging.getLogger(__name__)


def container_spec(container: Container, network: str = "") -> ContainerSpec:
    """The engine-side description of a container row: only allowlisted fields, on its team's own network.

    ``network`` is that network's engine name when its row is at hand; else it is derived from the engine's name.
    """
    return ContainerSpec(
        name=container.engine_name,
        image=container.image.reference,
        cpus=container.cpus,
        memory_mib=container.memory_mib,
        command=list(container.command),
        environment=environment_open(container.environment),
        ports=[
            PortMapping(container_port=p["container_port"], host_port=p["host_port"], protocol=p["protocol"])
            for p in container.ports
        ],
        publish_address=container.docker_host.publish_address,
        restart_policy=container.restart_policy,
        labels=container_labels(container),
        network=network or team_network_engine_name(container),
    )


def team_network_engine_name(container: Container) -> str:
    """The engine name of the container's team's own network on its engine (as ``DockerNetwork.engine_name``)."""
    return f"{container.team.slug}.{team_network_name(container.docker_host.name)}"


def container_labels(container: Container) -> dict[str, str]:
    """The labels that mark a container on the engine as this row's; a name alone is no proof."""
    return {"portal.team": container.team.slug, "portal.name": container.name}


def container_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Create and start the container of a provisioning job."""
    provision_run(CONTAINER_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> Container | None:
    containers = Container.objects.select_related("team", "image", "docker_host")
    return containers.filter(request_id=job.request_id).first()


def team_network_make(engine: ContainerEngine, network: DockerNetwork) -> None:
    """Make the team's own network on its engine if absent, and record what the engine says of it.

    Asked of the engine every time (one call): a network removed outside the
    portal is made again rather than failing the container's creation.
    """
    created = engine.network_create(name=network.engine_name, labels=docker_network_labels(network))
    seen = (created.engine_id, created.subnet, DockerNetworkState.ACTIVE)
    if (network.engine_id, network.subnet, network.state) != seen:  # usually as recorded: no write
        network.engine_id, network.subnet, network.state = seen
        network.save(update_fields=["engine_id", "subnet", "state"])


def _build(job: Job, container: Container) -> str:
    network = team_network_ensure(team=container.team, docker_host=container.docker_host)
    with engine_of(container.docker_host) as engine:
        job_step(job, f"Joining team network {network.engine_name}", 20)
        team_network_make(engine, network)
        job_step(
            job, f"Creating {container.engine_name} from {container.image.reference} on {container.docker_host}", 30
        )
        engine_id = engine.container_create(container_spec(container, network=network.engine_name))
        container.engine_id = engine_id
        with transaction.atomic():  # rows only until the start: one commit, written before it
            container.save(update_fields=["engine_id", "updated_at"])
            network.containers.add(container)
            job_step(job, "Starting the container", 70)
        engine.container_start(engine_id)
        status = engine.container_status(engine_id)
    # One write for both: until it, a retry or the cleanup finds the container by its fixed name.
    container.engine_id = engine_id
    container.state = status.state
    container.save(update_fields=["engine_id", "state", "updated_at"])
    return f"The container is {container.get_state_display().lower()}"


def _cleanup(job: Job, container: Container) -> None:
    """Remove the container from its engine if it was created, then its row."""
    job_step(job, "Removing what was created", job.progress)
    try:
        with engine_of(container.docker_host) as engine:
            engine.container_remove(container.engine_id or container.engine_name, labels=container_labels(container))
    except EngineError as error:
        logger.error("Cleanup of container %s failed: %s", container, error)
        job_step(job, f"Could not remove {container.engine_name} from {container.docker_host}: {error}", job.progress)
    container.delete()


CONTAINER_BUILDER = Builder(load=_load, build=_build, cleanup=_cleanup, unreachable=(EngineUnreachable,))
