"""Services on Docker engines: reaching one with its sealed TLS material, and probing what it is."""

from __future__ import annotations

import logging

from django.utils import timezone

from containers.drivers import ContainerEngine, EngineError, engine_for
from containers.models import DockerHost
from containers.secrets import secret_open

logger = logging.getLogger(__name__)


def engine_of(docker_host: DockerHost) -> ContainerEngine:
    """A driver for the engine of a Docker host, with its TLS material unsealed for the connection only."""
    tls = None
    if docker_host.uses_tls:
        tls = {
            "ca_certificate": docker_host.tls_ca_certificate,
            "client_certificate": docker_host.tls_client_certificate,
            "client_key": secret_open(docker_host.tls_client_key_sealed),
        }
    return engine_for(docker_host.base_url, tls)


def docker_host_probe(*, docker_host_id: int) -> DockerHost:
    """Ask the engine what it is and record the answer; an unreachable engine is marked so, not raised."""
    docker_host = DockerHost.objects.get(pk=docker_host_id)
    try:
        with engine_of(docker_host) as engine:
            facts = engine.probe()
    except EngineError as error:
        docker_host.mark_unreachable(error)
    else:
        docker_host.mark_reachable()
        docker_host.engine_version = facts.engine_version
        docker_host.cpus = facts.cpus
        docker_host.memory_mib = facts.memory_mib
    docker_host.last_probed_at = timezone.now()
    docker_host.save()
    return docker_host
