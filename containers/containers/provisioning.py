"""Creating an approved container on its engine, step by step, recorded in its job.

Idempotent: the engine name is fixed (``<team>.<name>``), so a redelivered task
finds the container it created. The shared skeleton (``portal.provisioning``)
does the quota check, the request's moves, retries and cleanup.
"""

from __future__ import annotations

import logging

from containers.drivers import ContainerSpec, EngineError, EngineUnreachable, PortMapping
from containers.engines.services import engine_of
from containers.models import Container
from portal.jobs import job_step
from portal.models import Job
from portal.provisioning import Builder, provision_run

logger = logging.getLogger(__name__)


def container_spec(container: Container) -> ContainerSpec:
    """The engine-side description of a container row: only allowlisted fields."""
    return ContainerSpec(
        name=container.engine_name,
        image=container.image.reference,
        cpus=container.cpus,
        memory_mib=container.memory_mib,
        command=list(container.command),
        environment=dict(container.environment),
        ports=[
            PortMapping(container_port=p["container_port"], host_port=p["host_port"], protocol=p["protocol"])
            for p in container.ports
        ],
        publish_address=container.docker_host.publish_address,
        restart_policy=container.restart_policy,
        labels={"portal.team": container.team.slug, "portal.name": container.name},
    )


def container_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Create and start the container of a provisioning job."""
    provision_run(CONTAINER_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> Container | None:
    containers = Container.objects.select_related("team", "image", "docker_host")
    return containers.filter(request_id=job.request_id).first()


def _build(job: Job, container: Container) -> str:
    job_step(job, f"Creating {container.engine_name} from {container.image.reference} on {container.docker_host}", 30)
    with engine_of(container.docker_host) as engine:
        engine_id = engine.container_create(container_spec(container))
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
            engine.container_remove(container.engine_id or container.engine_name)
    except EngineError as error:
        logger.error("Cleanup of container %s failed: %s", container, error)
        job_step(job, f"Could not remove {container.engine_name} from {container.docker_host}: {error}", job.progress)
    container.delete()


CONTAINER_BUILDER = Builder(load=_load, build=_build, cleanup=_cleanup, unreachable=(EngineUnreachable,))
