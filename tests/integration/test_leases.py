"""Leases on the real stack: a running container on the Docker engine and a running tiny VM on
``qemu:///system`` (96 MiB, the least the guest boots to its shell in: the stop is an ACPI shutdown) are stopped
when their lease ends and deleted after the grace period.

The scan runs with an injected clock, twice at each stage: each stage queues one job, which a real
Celery worker runs. What happened is read from the engine and from libvirt, not only from rows.
"""

from __future__ import annotations

import time
from datetime import timedelta

import libvirt
import pytest
from django.utils import timezone

from containers.choices import ContainerKind
from containers.models import Container, ContainerImage
from hypervisors.models import VirtualMachine
from portal.choices import JobState
from portal.leases.policies import lease_end_of
from portal.leases.scan import lease_scan
from portal.models import AuditEvent, Job, ResourceRequest
from portal.notifications.models import Notification
from portal.services import request_approve, request_submit
from tests.factories import UserFactory
from tests.support import docker_engine as eng
from tests.support.processes import job_wait
from tests.support.qemu import banner_count, vm_request
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

#: Seconds a build, and one lease job (a shutdown waits for the guest), may take on a busy machine.
BUILD_TIMEOUT = 180
JOB_TIMEOUT = 120
#: Seconds between the guest's boot banner and acpid listening to the power button (see test_vm_lifecycle).
ACPI_SETTLE = 2


@pytest.fixture
def local_engine(transactional_db, live_team):
    yield from eng.local_engine_for(live_team)


@pytest.fixture
def approver(transactional_db):
    return UserFactory(username="lease-approver", is_staff=True, is_superuser=True)


def scan_twice(now):
    """Two scans at the same moment of the injected clock: the second must find nothing left to do."""
    first, second = lease_scan(now=now), lease_scan(now=now + timedelta(seconds=30))
    return first, second


def lease_jobs(resource) -> list[Job]:
    return list(Job.objects.filter(target_id=str(resource.pk), requested_by__isnull=True).order_by("id"))


def built(request: ResourceRequest, approver, log) -> None:
    job = request_approve(actor=approver, request_id=request.pk)
    assert job is not None
    job = job_wait(job.pk, BUILD_TIMEOUT, f"the build of {request.name}")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{log()}"


def test_a_containers_lease_stops_it_then_removes_it(
    local_engine, live_team, live_member, approver, celery_worker_process
):
    image = ContainerImage.objects.get(docker_host=local_engine)
    request = request_submit(
        actor=live_member, team=live_team, kind=ContainerKind.CONTAINER, name="leased", vcpus=0.5,
        memory_mib=64, disk_gib=0, justification="lease test",
        spec={"image_id": image.pk, "image": image.reference, "docker_host_id": local_engine.pk,
              "command": ["sleep", "3600"], "environment": {}, "ports": [], "restart_policy": "no"},
        lease_ends_at=lease_end_of(timezone.localdate() + timedelta(days=3)),
    )  # fmt: skip
    built(request, approver, celery_worker_process.log)
    container = Container.objects.get(request=request)
    engine_name = f"{live_team.slug}.leased"
    assert eng.engine_state(engine_name) == "running"
    assert container.lease_ends_at == request.lease_ends_at

    first, second = scan_twice(container.lease_ends_at)
    assert first.stopped["container"] == [container.pk] and second.stopped["container"] == []
    (stop,) = lease_jobs(container)
    assert job_wait(stop.pk, JOB_TIMEOUT, "the lease stop").state == JobState.SUCCEEDED
    assert eng.engine_state(engine_name) == "exited", "stopped on the engine"

    container.refresh_from_db()
    first, second = scan_twice(container.lease_deletes_at)
    assert first.deleted["container"] == [container.pk] and second.deleted["container"] == []
    stop_again, remove = lease_jobs(container)
    assert stop_again.pk == stop.pk
    assert job_wait(remove.pk, JOB_TIMEOUT, "the lease removal").state == JobState.SUCCEEDED
    assert not eng.exists(engine_name), "gone from the engine"
    assert not Container.objects.filter(pk=container.pk).exists()
    assert scan_twice(container.lease_deletes_at + timedelta(days=1))[0].deleted["container"] == []

    assert set(AuditEvent.objects.filter(action__startswith="lease.").values_list("action", "actor")) == {
        ("lease.stop", None), ("lease.delete", None)
    }  # fmt: skip
    assert Notification.objects.filter(user=live_member, category="lease").count() == 2


def test_a_vms_lease_shuts_it_down_then_deletes_it(
    qemu_host, guest_image, live_team, live_member, approver, celery_worker_process
):
    request = vm_request(live_team, live_member, guest_image, "leased")
    request.lease_ends_at = lease_end_of(timezone.localdate() + timedelta(days=3))
    request.save(update_fields=["lease_ends_at"])
    built(request, approver, celery_worker_process.log)
    vm = VirtualMachine.objects.get(request=request)
    conn = libvirt.open("qemu:///system")
    try:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        wait_until(lambda: banner_count(vm.domain_name) >= 1, BUILD_TIMEOUT, "the guest's boot banner")
        time.sleep(ACPI_SETTLE)

        first, second = scan_twice(vm.lease_ends_at)
        assert first.stopped["vm"] == [vm.pk] and second.stopped["vm"] == []
        (stop,) = lease_jobs(vm)
        stop = job_wait(stop.pk, JOB_TIMEOUT, "the lease shutdown")
        assert stop.state == JobState.SUCCEEDED, f"{stop.error}\n{celery_worker_process.log()}"
        assert domain.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF, "shut off in libvirt"

        vm.refresh_from_db()
        first, second = scan_twice(vm.lease_deletes_at)
        assert first.deleted["vm"] == [vm.pk] and second.deleted["vm"] == []
        delete = lease_jobs(vm)[-1]
        delete = job_wait(delete.pk, JOB_TIMEOUT, "the lease deletion")
        assert delete.state == JobState.SUCCEEDED, f"{delete.error}\n{celery_worker_process.log()}"
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByUUIDString(str(vm.uuid))
        assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    finally:
        conn.close()
