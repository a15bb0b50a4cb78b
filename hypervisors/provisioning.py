"""Building an approved VM on a host, step by step, recorded in its job.

Every step is idempotent: the VM's UUID and volume name are fixed before the
first step, so a task delivered twice finds its own domain and disk and carries
on. Any failure removes what was made, frees the quota and says why.
"""

from __future__ import annotations

import logging

from hypervisors.drivers import DomainSpec, DriverError, HostUnreachable, driver_for
from hypervisors.models import VirtualMachine
from hypervisors.operations import RetryLater
from hypervisors.placement import host_for
from portal.choices import FINISHED_JOB_STATES, RequestState
from portal.jobs import job_fail, job_start, job_step, job_succeed
from portal.models import Job, ResourceRequest
from portal.services import request_fail, request_fulfill, request_provisioning_start

logger = logging.getLogger(__name__)

#: Where hosts keep each guest's serial console output (libvirt's own log directory).
CONSOLE_LOG_DIR = "/var/log/libvirt/qemu"


def domain_spec(vm: VirtualMachine, disk_path: str) -> DomainSpec:
    """The domain a VM row describes, on its host."""
    assert vm.host is not None and vm.image is not None
    return DomainSpec(
        uuid=str(vm.uuid),
        name=vm.domain_name,
        domain_type=vm.host.domain_type,
        vcpus=vm.vcpus,
        memory_mib=vm.memory_mib,
        disk_path=disk_path,
        kernel_path=vm.image.kernel_path,
        initrd_path=vm.image.initrd_path,
        kernel_cmdline=vm.image.kernel_cmdline,
        network=vm.host.network,
        console_log=f"{CONSOLE_LOG_DIR}/{vm.domain_name}.console.log",
        metadata={"team": vm.team.slug, "name": vm.name, "owner": vm.owner.get_username() if vm.owner else ""},
    )


def vm_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Build the VM of the job's request: quota, host, disk, domain, start.

    A host that does not answer raises :class:`RetryLater` while retries remain
    (what was built so far is kept: the steps are idempotent); any other failure,
    or the last attempt, removes what was built, frees the quota and fails the job.
    """
    job = Job.objects.get(pk=job_id)
    if job.state in FINISHED_JOB_STATES:
        logger.info("Job %s already finished; nothing to do", job_id)
        return
    job = job_start(job_id)
    assert job.request_id is not None
    if _finish_interrupted_run(job):
        return
    vm = VirtualMachine.objects.select_related("team", "image", "host", "owner").get(request_id=job.request_id)
    try:
        job_step(job, "Checking the team's quota", 5)
        request_provisioning_start(request_id=job.request_id)
        if vm.image is None:
            raise DriverError("The image chosen for this VM no longer exists.")
        if vm.host is None:
            job_step(job, "Choosing a host", 10)
            vm.host = host_for(vm)
            vm.save(update_fields=["host", "updated_at"])
        job_step(job, f"Placed on host {vm.host.name}", 15)
        with driver_for(vm.host.uri) as driver:
            job_step(job, f"Preparing storage pool {vm.host.storage_pool}", 25)
            driver.pool_ensure(name=vm.host.storage_pool, path=vm.host.storage_path)
            job_step(job, f"Creating a {vm.disk_gib} GiB qcow2 disk", 40)
            disk_path = driver.volume_ensure(pool=vm.host.storage_pool, name=vm.volume_name, capacity_gib=vm.disk_gib)
            job_step(job, f"Defining domain {vm.domain_name} ({vm.host.domain_type})", 60)
            driver.domain_define(domain_spec(vm, disk_path))
            job_step(job, "Starting the domain", 80)
            driver.domain_start(str(vm.uuid))
            status = driver.domain_status(str(vm.uuid))
        vm.state = status.state
        vm.save(update_fields=["state", "updated_at"])
        request_fulfill(request_id=job.request_id)
        job_succeed(job, f"The VM is {vm.get_state_display().lower()}")
    except HostUnreachable as error:
        if not final_attempt:
            job_step(job, f"The host did not answer ({error}); trying again later", job.progress)
            raise RetryLater(str(error)) from error
        _give_up(job, vm, error)
    except Exception as error:  # noqa: BLE001 - every failure must free the quota and clean up
        _give_up(job, vm, error)


def _give_up(job: Job, vm: VirtualMachine, error: Exception) -> None:
    """End a failed build: remove what it made, free the quota, say why."""
    assert job.request_id is not None
    _cleanup(job, vm)
    request_fail(request_id=job.request_id, reason=str(error) or error.__class__.__name__)
    job_fail(job, error)


def _finish_interrupted_run(job: Job) -> bool:
    """Close a job whose earlier run got past its last step before its worker died; True if it did.

    The request's state tells how far that run went: fulfilled means the VM is
    live (it must not be touched), failed or a VM row already removed means the
    cleanup ran. Either way nothing is left to build.
    """
    assert job.request_id is not None
    state = ResourceRequest.objects.values_list("state", flat=True).get(pk=job.request_id)
    if state == RequestState.FULFILLED:
        job_succeed(job, "The VM was built by an earlier, interrupted run")
        return True
    if state == RequestState.FAILED or not VirtualMachine.objects.filter(request_id=job.request_id).exists():
        reason = "The build failed and its partial resources were removed by an earlier, interrupted run"
        request_fail(request_id=job.request_id, reason=reason)
        job_fail(job, ResourceRequest.objects.get(pk=job.request_id).failure_reason or reason)
        return True
    return False


def _cleanup(job: Job, vm: VirtualMachine) -> None:
    """Remove whatever part of the VM a failed build made, on the host and in the database."""
    if vm.host is not None:
        job_step(job, "Removing what was built", job.progress)
        try:
            with driver_for(vm.host.uri) as driver:
                driver.domain_delete(str(vm.uuid))
                driver.volume_delete(pool=vm.host.storage_pool, name=vm.volume_name)
        except DriverError as error:
            logger.error("Cleanup of VM %s on %s failed: %s", vm.uuid, vm.host.name, error)
            job_step(job, f"Could not remove domain {vm.domain_name} from {vm.host.name}: {error}", job.progress)
    vm.delete()
