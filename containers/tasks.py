"""Celery tasks of the containers app: thin, take ids, call a service."""

from celery import shared_task

from containers import services
from containers.models import DockerHost


@shared_task(name="containers.tasks.docker_host_probe")
def docker_host_probe(docker_host_id: int) -> None:
    """Probe one Docker engine."""
    services.docker_host_probe(docker_host_id=docker_host_id)


@shared_task(name="containers.tasks.docker_hosts_probe")
def docker_hosts_probe() -> None:
    """Probe every Docker engine (periodic)."""
    for docker_host_id in DockerHost.objects.values_list("pk", flat=True):
        docker_host_probe.delay(docker_host_id)
