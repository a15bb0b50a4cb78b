"""Celery tasks of the containers app: thin, take ids, call a service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from containers.containers import logs
from containers.containers import operations as container_operations
from containers.containers import provisioning as container_provisioning
from containers.drivers import EngineError
from containers.engines import images, inventory, services
from containers.engines import operations as engine_operations
from containers.models import Container, DockerHost
from containers.networks import operations as network_operations
from containers.networks import provisioning as network_provisioning
from portal.retries import run_with_retries


@shared_task(bind=True, name="containers.tasks.container_provision")
def container_provision(self: Task[Any, Any], job_id: int) -> None:
    """Create and start the container of a provisioning job."""
    run_with_retries(self, container_provisioning.container_provision, job_id)


@shared_task(bind=True, name="containers.tasks.container_operate")
def container_operate(self: Task[Any, Any], job_id: int) -> None:
    """Run a container action (start, stop, restart, pause, unpause, remove)."""
    run_with_retries(self, container_operations.container_operate, job_id)


@shared_task(bind=True, name="containers.tasks.docker_network_provision")
def docker_network_provision(self: Task[Any, Any], job_id: int) -> None:
    """Create a team's container network."""
    run_with_retries(self, network_provisioning.docker_network_provision, job_id)


@shared_task(bind=True, name="containers.tasks.docker_network_operate")
def docker_network_operate(self: Task[Any, Any], job_id: int) -> None:
    """Connect or disconnect a container, or remove a container network."""
    run_with_retries(self, network_operations.docker_network_operate, job_id)


@shared_task(bind=True, name="containers.tasks.image_load")
def image_load(self: Task[Any, Any], job_id: int) -> None:
    """Load an uploaded image tar into an engine (retried while the engine does not answer)."""
    run_with_retries(self, images.image_load, job_id)


@shared_task(bind=True, name="containers.tasks.engine_operate")
def engine_operate(self: Task[Any, Any], job_id: int) -> None:
    """Probe or reconcile an engine because someone asked (a job they follow)."""
    run_with_retries(self, engine_operations.engine_operate, job_id)


@shared_task(name="containers.tasks.docker_host_probe")
def docker_host_probe(docker_host_id: int) -> None:
    """Probe one Docker engine."""
    services.docker_host_probe(docker_host_id=docker_host_id)


@shared_task(name="containers.tasks.docker_hosts_probe")
def docker_hosts_probe() -> None:
    """Probe every Docker engine (periodic)."""
    for docker_host_id in DockerHost.objects.values_list("pk", flat=True):
        docker_host_probe.delay(docker_host_id)


@shared_task(name="containers.tasks.docker_host_reconcile")
def docker_host_reconcile(docker_host_id: int) -> None:
    """Make the rows of one engine agree with what runs on it."""
    inventory.docker_host_reconcile(docker_host_id=docker_host_id)


@shared_task(name="containers.tasks.docker_hosts_reconcile")
def docker_hosts_reconcile() -> None:
    """Reconcile every engine (periodic)."""
    for docker_host_id in DockerHost.objects.values_list("pk", flat=True):
        docker_host_reconcile.delay(docker_host_id)


@shared_task(name="containers.tasks.container_logs_follow", ignore_result=True)
def container_logs_follow(container_pk: int) -> None:
    """Copy a container's last lines, then its new output for a while, into Redis for its page.

    Not a job: it changes nothing, and only one runs per container (``logs.follow_claim``).
    """
    container = Container.objects.select_related("docker_host").filter(pk=container_pk).first()
    if container is None or not container.engine_id:
        logs.follow_release(container_pk)
        return
    try:
        with services.engine_of(container.docker_host) as engine:
            logs.logs_replace(container_pk, [])
            lines = engine.container_logs_follow(
                container.engine_id,
                tail=200,
                seconds=logs.FOLLOW_SECONDS,
                line_max_bytes=settings.PORTAL_LOG_LINE_MAX_BYTES,
                max_bytes=settings.PORTAL_LOG_FOLLOW_MAX_BYTES,
            )
            # Each line goes to the page as it comes: a quiet container's last line must not
            # wait in a batch for a next one that may never be printed.
            for line in lines:
                logs.logs_append(container_pk, [line])
    except EngineError as error:
        logs.logs_append(container_pk, [f"[portal] could not read the output: {error}"])
    finally:
        logs.follow_release(container_pk)
