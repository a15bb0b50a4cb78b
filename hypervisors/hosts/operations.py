"""The worker side of jobs on a host as a whole: probing it and reconciling it when an administrator asks.

The periodic probe and reconcile (Celery beat) run the same services without a
job row; a job is made only when a person asks, so they can follow it.
"""

from __future__ import annotations

from hypervisors.choices import HostJobAction
from hypervisors.drivers import DriverError
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.hosts.services import host_probe
from hypervisors.models import Host
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run


def host_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run a probe or reconcile job (see ``portal.operations``)."""
    operate_run(HOST_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, host: Host) -> str:
    if job.action == HostJobAction.HOST_PROBE:
        job_step(job, f"Asking {host} what it is and can do", 30)
        host = host_probe(host_id=host.pk)
        if not host.is_reachable:
            raise DriverError(f"Host {host} did not answer: {host.last_error}")
        cpus = f"{host.cpus} CPUs" if host.cpus else "CPUs unknown"
        memory = f"{host.memory_mib} MiB" if host.memory_mib else "memory unknown"
        return f"Host {host} answers: {cpus}, {memory}, guests run as {host.domain_type or 'unknown'}"
    job_step(job, f"Reading every domain, network and lease of {host}", 30)
    report = host_reconcile(host_id=host.pk)
    if not report.reachable:
        host.refresh_from_db(fields=["last_error"])
        raise DriverError(f"Host {host} did not answer: {host.last_error}")
    return (
        f"{report.domains} domains read; {len(report.changed)} changed, {len(report.missing)} missing, "
        f"{report.unmanaged} unmanaged"
    )


#: A host that does not answer fails the job at once: the person who asked wants to know now, and
#: the periodic probe keeps trying anyway.
HOST_OPERATOR = Operator(
    load=lambda job: Host.objects.filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(),
    noun="host",
    where=lambda host: f"Host {host.name}",
)
