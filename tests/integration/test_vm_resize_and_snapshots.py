"""Resizing and snapshotting one tiny running guest on the real ``qemu:///system``, checked through libvirt.

A live shrink must leave the guest room to grow back, and a snapshot's size
must be what the host reports, counted against the team's disk quota.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.models import Snapshot, VirtualMachine
from hypervisors.vms.services import vm_resize_request, vm_snapshot_request
from portal.choices import JobState
from portal.models import Job, Team
from portal.quotas import teams_usage
from portal.services import request_approve, request_submit
from tests.factories import UserFactory
from tests.support.processes import job_wait
from tests.support.qemu import banner_count
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

BUILD_TIMEOUT = 180
ACTION_TIMEOUT = 120
BOOT_TIMEOUT = 120
MIB = 1024


def _domain(vm: VirtualMachine) -> tuple[libvirt.virConnect, libvirt.virDomain]:
    conn = libvirt.open("qemu:///system")
    return conn, conn.lookupByUUIDString(str(vm.uuid))


def _done(job: Job, worker, what: str) -> Job:
    job = job_wait(job.pk, ACTION_TIMEOUT, what)
    assert job.state == JobState.SUCCEEDED, f"{what}: {job.error}\n{job.log}\n{worker.log()}"
    return job


def _running_vm(team: Team, member, image, worker) -> VirtualMachine:
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="tiny", vcpus=1, memory_mib=96, disk_gib=1,
        justification="integration test", spec={"image_id": image.pk},
    )  # fmt: skip
    admin = UserFactory(username="admin-tiny", is_staff=True, is_superuser=True)
    job = job_wait(request_approve(actor=admin, request_id=request.pk).pk, BUILD_TIMEOUT, "the build")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{worker.log()}"
    vm = VirtualMachine.objects.get(request=request)
    wait_until(lambda: banner_count(vm.domain_name) >= 1, BOOT_TIMEOUT, "the guest's boot banner")
    return vm


def test_live_shrink_then_grow_and_a_measured_snapshot(
    qemu_host, guest_image, live_team, live_member, celery_worker_process
):
    vm = _running_vm(live_team, live_member, guest_image, celery_worker_process)

    # 80 MiB, not less: the tiny guest holds its whole root file system (modules for the first-boot seed and
    # networking included) in RAM, and squeezed much below that it stops answering its balloon.
    _done(vm_resize_request(actor=live_member, vm_id=vm.pk, vcpus=1, memory_mib=80), celery_worker_process, "shrink")
    conn, domain = _domain(vm)
    try:
        inactive = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert int(inactive.findtext("memory") or 0) == 96 * MIB, "a live shrink keeps the ceiling"
        assert domain.maxMemory() == 96 * MIB
    finally:
        conn.close()

    job = _done(
        vm_resize_request(actor=live_member, vm_id=vm.pk, vcpus=1, memory_mib=96), celery_worker_process, "grow"
    )
    assert "applied live" in job.log[-1]["message"]
    conn, domain = _domain(vm)
    try:
        wait_until(lambda: domain.info()[2] == 96 * MIB, 10, "the running guest to have 96 MiB again")
    finally:
        conn.close()
    vm.refresh_from_db()
    assert (vm.memory_mib, vm.pending_memory_mib) == (96, None)

    _done(
        vm_snapshot_request(actor=live_member, vm_id=vm.pk, slug="snapshot-create", name="with-ram"),
        celery_worker_process,
        "snapshot",
    )
    snapshot = Snapshot.objects.get(vm=vm, name="with-ram")
    assert snapshot.size_bytes and snapshot.size_bytes > 1 * MIB * MIB, "the guest's RAM went into the disk's file"
    team = Team.objects.select_related("quota").get(pk=live_team.pk)
    used = teams_usage([team])[team.pk].used
    assert (used.snapshot_count, used.disk_gib) == (1, vm.disk_gib + 1)
