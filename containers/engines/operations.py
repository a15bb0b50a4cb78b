"""The worker side of jobs on a Docker engine as a whole: probing and reconciling it when an administrator asks.

The periodic probe and reconcile (Celery beat) run the same services without a
job row; a job is made only when a person asks, so they can follow it.
"""

from __future__ import annotations

from containers.choices import EngineJobAction
from containers.drivers import EngineError
from containers.engines.inventory import docker_host_reconcile
from containers.engines.services import docker_host_probe
from containers.models import DockerHost
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run


def engine_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run a probe or reconcile job on an engine (see ``portal.operations``)."""
    operate_run(ENGINE_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, docker_host: DockerHost) -> str:
    if job.action == EngineJobAction.ENGINE_PROBE:
        job_step(job, f"Asking {docker_host} what it is", 30)
        docker_host = docker_host_probe(docker_host_id=docker_host.pk)
        if not docker_host.is_reachable:
            raise EngineError(f"Engine {docker_host} did not answer: {docker_host.last_error}")
        return f"Engine {docker_host} answers: Docker {docker_host.engine_version}, {docker_host.cpus} CPUs"
    job_step(job, f"Reading every container and image of {docker_host}", 30)
    report = docker_host_reconcile(docker_host_id=docker_host.pk)
    if not report.reachable:
        docker_host.refresh_from_db(fields=["last_error"])
        raise EngineError(f"Engine {docker_host} did not answer: {docker_host.last_error}")
    return f"{report.containers} containers read"


#: An engine that does not answer fails the job at once; the periodic probe keeps trying anyway.
ENGINE_OPERATOR = Operator(
    load=lambda job: DockerHost.objects.filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(),
    noun="engine",
    where=lambda docker_host: f"Engine {docker_host.name}",
)
