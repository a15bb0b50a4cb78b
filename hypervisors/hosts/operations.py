"""The worker side of jobs on a host as a whole: probing it and reconciling it when an administrator asks,
and deleting an orphan volume of its storage.

The periodic probe and reconcile (Celery beat) run the same services without a
job row; a job is made only when a person asks, so they can follow it.
"""

from __future__ import annotations

from hypervisors.choices import HostJobAction
from hypervisors.drivers import DriverError, VolumeInUse, driver_for
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.hosts.services import host_probe
from hypervisors.hosts.storage import VM_VOLUME_NAME, volumes_digest_clear
from hypervisors.models import Host, StorageVolume, VirtualMachine
from portal.audit import audit_record
from portal.choices import AuditResult
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run


def host_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run a probe or reconcile job (see ``portal.operations``)."""
    operate_run(HOST_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, host: Host) -> str:
    if job.action == HostJobAction.VOLUME_DELETE:
        return _volume_delete(job, host)
    if job.action == HostJobAction.HOST_PROBE:
        job_step(job, f"Asking {host} what it is and can do", 30)
        host = host_probe(host_id=host.pk)
        if not host.is_reachable:
            raise DriverError(f"Host {host} did not answer: {host.last_error}")
        cpus = f"{host.cpus} CPUs" if host.cpus else "CPUs unknown"
        memory = f"{host.memory_mib} MiB" if host.memory_mib else "memory unknown"
        return f"Host {host} answers: {cpus}, {memory}, guests run as {host.domain_type or 'unknown'}"
    job_step(job, f"Reading every domain, network, lease and storage pool of {host}", 30)
    report = host_reconcile(host_id=host.pk)
    if not report.reachable:
        host.refresh_from_db(fields=["last_error"])
        raise DriverError(f"Host {host} did not answer: {host.last_error}")
    return (
        f"{report.domains} domains read; {len(report.changed)} changed, {len(report.missing)} missing, "
        f"{report.unmanaged} unmanaged"
    )


def _volume_delete(job: Job, host: Host) -> str:
    """Delete an orphan volume, after asking again whether anything uses it: the portal (a VM whose disk
    it is by name, maybe still being built) and then the host (every domain's definition), right before.
    """
    pool, name = job.params["pool"], job.params["volume"]
    match = VM_VOLUME_NAME.match(name)
    vm = VirtualMachine.objects.filter(uuid=match.group(1)).first() if match else None
    try:
        if vm is not None:
            raise VolumeInUse(f"Volume {name} is the disk of VM {vm}; it was not deleted.")
        job_step(job, f"Checking that no domain on {host} uses {pool}/{name}, then deleting it", 40)
        with driver_for(host.uri) as driver:
            deleted = driver.volume_delete_unused(pool=pool, name=name)
    except VolumeInUse as error:
        StorageVolume.objects.filter(pool__host=host, pool__name=pool, name=name).update(orphan=False)
        volumes_digest_clear(host=host, pool=pool)
        audit_record(
            actor=job.requested_by, action="volume.delete", target=host, result=AuditResult.FAILURE, detail=str(error)
        )
        raise
    StorageVolume.objects.filter(pool__host=host, pool__name=pool, name=name).delete()
    volumes_digest_clear(host=host, pool=pool)
    audit_record(actor=job.requested_by, action="volume.delete", target=host, detail=f"{pool}/{name}")
    return f"Volume {pool}/{name} deleted" if deleted else f"Volume {pool}/{name} was already gone"


#: A host that does not answer fails the job at once: the person who asked wants to know now, and
#: the periodic probe keeps trying anyway.
HOST_OPERATOR = Operator(
    load=lambda job: Host.objects.filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(),
    noun="host",
    where=lambda host: f"Host {host.name}",
)
