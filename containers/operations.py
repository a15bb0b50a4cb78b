"""The worker side of container actions: do what a job asks on the engine, then record the engine's answer.

Every operation is idempotent (stopping a stopped container, removing a removed
one: success), so a redelivered job is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from containers.drivers import ContainerEngine, ContainerNotFound, EngineUnreachable
from containers.models import Container
from containers.services import engine_of
from portal.audit import audit_record
from portal.choices import FINISHED_JOB_STATES, JobAction
from portal.jobs import RetryLater, job_fail, job_start, job_step, job_succeed
from portal.models import Job

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
    engine.container_remove(container.engine_id or container.engine_name)
    with transaction.atomic():
        audit_record(actor=job.requested_by, action="container.removed", target=container, team=container.team)
        container.delete()
    return "The container is gone; its quota is free"


OPERATIONS: dict[str, Operation] = {
    JobAction.CONTAINER_START: _simple("Starting the container", lambda e, i: e.container_start(i)),
    JobAction.CONTAINER_STOP: _simple("Stopping the container", lambda e, i: e.container_stop(i)),
    JobAction.CONTAINER_RESTART: _simple("Restarting the container", lambda e, i: e.container_restart(i)),
    JobAction.CONTAINER_PAUSE: _simple("Pausing the container", lambda e, i: e.container_pause(i)),
    JobAction.CONTAINER_UNPAUSE: _simple("Unpausing the container", lambda e, i: e.container_unpause(i)),
    JobAction.CONTAINER_REMOVE: _remove,
}


def container_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run the container action of a job. Raises ``RetryLater`` when the engine is unreachable and retries remain."""
    job = Job.objects.get(pk=job_id)
    if job.state in FINISHED_JOB_STATES:
        return
    job = job_start(job_id)
    container = Container.objects.select_related("docker_host", "team").filter(pk=job.target_id).first()
    if container is None:
        if job.action == JobAction.CONTAINER_REMOVE:
            job_succeed(job, "The container was removed by an earlier, interrupted run")
        else:
            job_fail(job, "The container no longer exists.")
        return
    try:
        with engine_of(container.docker_host) as engine:
            message = OPERATIONS[job.action](job, container, engine)
    except ContainerNotFound as error:
        container_state_record(container, "missing")
        job_fail(job, f"The container is gone from its engine: {error}")
    except EngineUnreachable as error:
        if not final_attempt:
            job_step(job, f"The engine did not answer ({error}); trying again later", job.progress)
            raise RetryLater(str(error)) from error
        job_fail(job, error)
    except Exception as error:  # noqa: BLE001 - a failed action must end its job with the reason
        job_fail(job, error)
    else:
        job_succeed(job, message)
