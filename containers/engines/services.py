"""Services on Docker engines: reaching one with its sealed TLS material, and probing what it is."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from containers.choices import EngineJobAction
from containers.drivers import ContainerEngine, EngineError, engine_for
from containers.models import DockerHost
from containers.secrets import secret_open
from portal.audit import audit_record
from portal.jobs import job_create, job_enqueue
from portal.models import Job

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


#: The task that runs a job on an engine as a whole.
OPERATE_TASK = "containers.tasks.engine_operate"


@transaction.atomic
def engine_job_request(*, actor: User | AnonymousUser, docker_host_id: int, action: str) -> Job:
    """Queue a probe or a reconcile of an engine that a person asked for, as a Job they can follow.

    Needs the permission to change Docker hosts.
    """
    if action not in (EngineJobAction.ENGINE_PROBE, EngineJobAction.ENGINE_RECONCILE):
        raise ValidationError(f"There is no engine job {action!r}.")
    if not (actor.is_authenticated and actor.has_perm("containers.change_dockerhost")):
        raise PermissionDenied("Only administrators who may change Docker hosts may probe or reconcile them.")
    docker_host = DockerHost.objects.get(pk=docker_host_id)
    job = job_create(action=action, team=None, requested_by=actor, target=docker_host)
    job_enqueue(job, OPERATE_TASK)
    audit_record(actor=actor, action=f"engine.{EngineJobAction(action).name.lower()}", target=docker_host)
    return job
