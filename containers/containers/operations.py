"""The worker side of container actions: do what a job asks on the engine, then record the engine's answer.

Every operation is idempotent (stopping a stopped container, removing a removed
one: success), so a redelivered job is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from containers.choices import ContainerJobAction
from containers.containers.provisioning import container_labels
from containers.drivers import ContainerEngine, ContainerNotFound, EngineUnreachable
from containers.engines.services import engine_of
from containers.models import Container, DockerNetwork
from portal.audit import audit_record
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run

Operation = Callable[[Job, Container, ContainerEngine], str]


def container_state_record(container: Container, state: str) -> None:
    """Store a container's state as the engine reports it."""
    if container.state != state:
        container.state = state
        container.state_changed_at = timezone.now()
        container.save(update_fields=["state", "state_changed_at", "updated_at"])


def _simple(message: str, call: Callable[[ContainerEngine, str], None]) -> Operation:
    """An operation that is one engine call followed by a state refresh."""

    def operate(job: Job, container: Container, engine: ContainerEngine) -> str:
        job_step(job, message, 50)
        call(engine, container.engine_id)
        container_state_record(container, engine.container_status(container.engine_id).state)
        return f"The container is {container.get_state_display().lower()}"

    return operate


def _remove(job: Job, container: Container, engine: ContainerEngine) -> str:
    job_step(job, "Removing the container", 50)
    engine.container_remove(container.engine_id or container.engine_name, labels=container_labels(container))
    with transaction.atomic():
        audit_record(actor=job.requested_by, action="container.removed", target=container, team=container.team)
        container.delete()
    return "The container is gone; its quota is free"


def _membership(job: Job, container: Container, engine: ContainerEngine) -> str:
    """Connect the container to a network of its team, or disconnect it."""
    network = DockerNetwork.objects.filter(pk=job.params.get("network_id")).first()
    if network is None:
        raise ValidationError("The network no longer exists.")
    if network.team_id != container.team_id:  # checked again where the change is made
        raise ValidationError("A container may only join a network of its own team.")
    if job.action == ContainerJobAction.CONTAINER_NETWORK_CONNECT:
        job_step(job, f"Connecting to {network}", 50)
        engine.network_connect(network.engine_id, container.engine_id)
        network.containers.add(container)
        return f"Connected to {network}"
    job_step(job, f"Disconnecting from {network}", 50)
    engine.network_disconnect(network.engine_id, container.engine_id)
    network.containers.remove(container)
    return f"Disconnected from {network}"


OPERATIONS: dict[str, Operation] = {
    ContainerJobAction.CONTAINER_START: _simple("Starting the container", lambda e, i: e.container_start(i)),
    ContainerJobAction.CONTAINER_STOP: _simple("Stopping the container", lambda e, i: e.container_stop(i)),
    ContainerJobAction.CONTAINER_RESTART: _simple("Restarting the container", lambda e, i: e.container_restart(i)),
    ContainerJobAction.CONTAINER_PAUSE: _simple("Pausing the container", lambda e, i: e.container_pause(i)),
    ContainerJobAction.CONTAINER_UNPAUSE: _simple("Unpausing the container", lambda e, i: e.container_unpause(i)),
    ContainerJobAction.CONTAINER_REMOVE: _remove,
    ContainerJobAction.CONTAINER_NETWORK_CONNECT: _membership,
    ContainerJobAction.CONTAINER_NETWORK_DISCONNECT: _membership,
}


def container_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run the container action of a job (see ``portal.operations``)."""
    operate_run(CONTAINER_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, container: Container) -> str:
    try:
        with engine_of(container.docker_host) as engine:
            return OPERATIONS[job.action](job, container, engine)
    except ContainerNotFound as error:
        container_state_record(container, "missing")
        raise ContainerNotFound(f"The container is gone from its engine: {error}") from error


CONTAINER_OPERATOR = Operator(
    load=lambda job: Container.objects.select_related("docker_host", "team").filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(EngineUnreachable,),
    noun="container",
    where=lambda container: f"Engine {container.docker_host.name}",
    delete_action=ContainerJobAction.CONTAINER_REMOVE,
    delete_verb="removed",
)
