"""The worker side of VM resize and snapshots, on libvirt's ``test:///default``: the domain and the rows change."""

import libvirt
import pytest

from hypervisors.drivers import DriverError
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from hypervisors.models import Snapshot
from hypervisors.vms.services import vm_resize_request, vm_snapshot_request
from portal.choices import JobState
from portal.models import Job
from tests.support.rows import messages, usage_of
from tests.support.vm_jobs import MIB, act, config_memory_mib, domain, run

pytestmark = pytest.mark.django_db


# --- resize ---


def test_resize_within_the_maximum_applies_live(build, conn, member):
    vm = build(vcpus=2, memory_mib=256)
    job = run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=128), vm)

    assert job.state == JobState.SUCCEEDED, job.error
    assert messages(job)[-1] == "Resized to 1 vCPUs and 128 MiB: applied live"
    assert vm.next_boot_note == ""
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    dom = domain(conn, vm)
    assert dom.isActive()
    assert dom.info()[2] == 128 * MIB, "current memory changed in the running guest"
    assert dom.maxMemory() == 256 * MIB, "the ceiling stays"
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 1
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
    assert config_memory_mib(dom) == 128, "and kept for the next boot"


def test_resize_beyond_the_maximum_waits_for_the_next_boot(build, conn, member, team):
    vm = build(vcpus=1, memory_mib=128)
    job = run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256), vm)

    assert job.state == JobState.SUCCEEDED, job.error
    assert vm.next_boot_note == "New vCPUs and memory apply at the next boot."
    assert "apply at the next boot" in messages(job)[-1]
    assert (vm.vcpus, vm.memory_mib) == (2, 256)
    assert usage_of(team).used.memory_mib == 256
    dom = domain(conn, vm)
    assert dom.info()[3] == 1 and dom.info()[2] == 128 * MIB, "the running guest is unchanged"
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 2
    assert config_memory_mib(dom) == 256

    act(member, vm, "shutdown")
    assert vm.next_boot_note == "New vCPUs and memory apply at the next boot."
    act(member, vm, "start")

    assert vm.next_boot_note == ""
    dom = domain(conn, vm)
    assert dom.info()[3] == 2
    assert dom.maxMemory() == 256 * MIB
    assert dom.info()[2] == 256 * MIB


def test_resize_memory_only_beyond_the_maximum(build, conn, member):
    vm = build(vcpus=1, memory_mib=128)
    run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=512), vm)
    assert vm.next_boot_note == "New memory apply at the next boot."


def test_resize_of_a_shut_off_vm(build, conn, member):
    vm = build(vcpus=2, memory_mib=256)
    act(member, vm, "power-off")
    job = run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=64), vm)
    assert job.state == JobState.SUCCEEDED, job.error
    dom = domain(conn, vm)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
    assert dom.maxMemory() == 64 * MIB
    act(member, vm, "start")
    assert domain(conn, vm).info()[3] == 1
    assert vm.next_boot_note == ""


def test_failed_resize_puts_the_old_sizes_back_and_frees_the_quota(build, conn, member, team, monkeypatch):
    vm = build(vcpus=1, memory_mib=128)

    def refuse(self, uuid, memory_mib):
        raise DriverError("The host refused the new memory size.")

    monkeypatch.setattr(LibvirtDriver, "domain_set_memory", refuse)
    job = vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=2048)
    assert usage_of(team).used.memory_mib == 2048, "counted at once"

    run(job, vm)

    assert job.state == JobState.FAILED
    assert job.error == "The host refused the new memory size."
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    assert usage_of(team).used.memory_mib == 128
    assert usage_of(team).used.vcpus == 1


# --- snapshots ---


def test_snapshot_create_revert_delete(build, conn, member):
    vm = build()

    job = run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="before"), vm)
    assert job.state == JobState.SUCCEEDED, job.error
    assert messages(job)[-1] == "Snapshot before taken"
    assert [s.getName() for s in domain(conn, vm).listAllSnapshots(0)] == ["before"]
    snapshot = Snapshot.objects.get(vm=vm)
    assert (snapshot.name, snapshot.created_by) == ("before", member)

    act(member, vm, "power-off")
    assert vm.state == "shutoff"
    job = run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-revert", name="before"), vm)
    assert job.state == JobState.SUCCEEDED, job.error
    assert messages(job)[-1] == "Reverted to before; the vm is running"
    assert domain(conn, vm).isActive(), "the snapshot was taken of a running VM"
    assert vm.state == "running"

    job = run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-delete", name="before"), vm)
    assert job.state == JobState.SUCCEEDED, job.error
    assert domain(conn, vm).listAllSnapshots(0) == []
    assert not Snapshot.objects.filter(vm=vm).exists()


def test_snapshot_jobs_run_twice_are_harmless(build, conn, member):
    vm = build()
    create = vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="twice")
    run(create, vm)
    Job.objects.filter(pk=create.pk).update(state=JobState.RUNNING)  # as if its worker died before the end
    run(create, vm)
    assert create.state == JobState.SUCCEEDED
    assert [s.getName() for s in domain(conn, vm).listAllSnapshots(0)] == ["twice"]
    assert Snapshot.objects.filter(vm=vm).count() == 1

    delete = vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-delete", name="twice")
    run(delete, vm)
    Job.objects.filter(pk=delete.pk).update(state=JobState.RUNNING)
    run(delete, vm)
    assert delete.state == JobState.SUCCEEDED
    assert domain(conn, vm).listAllSnapshots(0) == []


def test_revert_to_a_snapshot_gone_from_the_host_fails(build, conn, member):
    vm = build()
    run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="gone"), vm)
    domain(conn, vm).snapshotLookupByName("gone", 0).delete(0)  # removed with virsh
    job = run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-revert", name="gone"), vm)
    assert job.state == JobState.FAILED
    assert job.error == "The VM has no snapshot named 'gone'."


def test_revert_does_not_escape_the_quota(build, conn, member, team):
    vm = build(vcpus=2, memory_mib=256)
    run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="big"), vm)
    run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=128), vm)
    assert usage_of(team).used.vcpus == 1, "the shrink gave quota back"
    act(member, vm, "power-off")

    job = run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-revert", name="big"), vm)

    assert job.state == JobState.SUCCEEDED
    info = domain(conn, vm).info()
    assert (info[3], info[2] // MIB) == (vm.vcpus, vm.memory_mib), "what runs is what the quota counts"
