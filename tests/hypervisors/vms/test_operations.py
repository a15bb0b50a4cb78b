"""The worker side of VM power actions and delete, on libvirt's ``test:///default``: the domain and the rows change;
jobs that cannot run, and a host that cannot be reached.
"""

import libvirt
import pytest

from hypervisors.choices import VMJobAction
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from hypervisors.models import Host, Snapshot, VirtualMachine
from hypervisors.vms import operations
from hypervisors.vms.services import vm_action_request, vm_resize_request, vm_snapshot_request
from portal import operations as operating
from portal.choices import JobState
from portal.jobs import RetryLater, job_create
from portal.models import AuditEvent, Job
from tests.factories import VirtualMachineFactory
from tests.support.libvirt_test import volumes
from tests.support.rows import messages, usage_of
from tests.support.vm_jobs import UNREACHABLE_URI, WorkerLost, act, domain, run

pytestmark = pytest.mark.django_db


# --- power actions ---

POWER = [
    # slug, how the domain is before, libvirt state after, VM state after, last log line
    ("start", "shutoff", libvirt.VIR_DOMAIN_SHUTOFF, "running", "The VM is running"),
    ("shutdown", "running", libvirt.VIR_DOMAIN_SHUTOFF, "shutoff", "The VM is shut off"),
    ("power-off", "running", libvirt.VIR_DOMAIN_SHUTOFF, "shutoff", "The VM is shut off"),
    ("power-off", "paused", libvirt.VIR_DOMAIN_SHUTOFF, "shutoff", "The VM is shut off"),
    ("reboot", "running", libvirt.VIR_DOMAIN_RUNNING, "running", "The VM is running"),
    ("reset", "running", libvirt.VIR_DOMAIN_RUNNING, "running", "The VM is running"),
    ("suspend", "running", libvirt.VIR_DOMAIN_PAUSED, "paused", "The VM is paused"),
    ("resume", "paused", libvirt.VIR_DOMAIN_RUNNING, "running", "The VM is running"),
]


@pytest.mark.parametrize(("slug", "before", "_unused", "after", "last"), POWER)
def test_power_action_changes_the_domain_and_the_row(build, conn, member, slug, before, _unused, after, last):
    vm = build()
    dom = domain(conn, vm)
    if before == "shutoff":
        dom.destroy()
    elif before == "paused":
        dom.suspend()
    VirtualMachine.objects.filter(pk=vm.pk).update(state=before)  # what the events would have recorded
    vm.refresh_from_db()

    job = act(member, vm, slug)

    assert job.state == JobState.SUCCEEDED, job.error
    assert job.progress == 100
    assert messages(job)[-1] == last
    expected = {
        "running": libvirt.VIR_DOMAIN_RUNNING,
        "paused": libvirt.VIR_DOMAIN_PAUSED,
        "shutoff": libvirt.VIR_DOMAIN_SHUTOFF,
    }[after]
    assert dom.state()[0] == expected
    assert vm.state == after
    if before != after:
        assert vm.state_changed_at is not None


def test_shutdown_on_the_test_driver_powers_off_at_once(build, conn, member):
    vm = build()
    job = act(member, vm, "shutdown")
    assert messages(job)[1].startswith("Asking the guest to power off (ACPI); waiting up to")
    assert not domain(conn, vm).isActive()
    assert vm.state == "shutoff"


def test_second_run_of_a_finished_job_is_a_no_op(build, conn, member):
    vm = build()
    job = act(member, vm, "power-off")
    log, finished_at = list(job.log), job.finished_at
    domain(conn, vm).create()  # someone started it again since

    run(job, vm)

    assert job.state == JobState.SUCCEEDED
    assert job.log == log
    assert job.finished_at == finished_at
    assert domain(conn, vm).isActive(), "the old job did not power it off a second time"


def test_redelivered_running_job_is_idempotent(build, conn, member, monkeypatch):
    vm = build()
    job = vm_action_request(actor=member, vm_id=vm.pk, slug="suspend")

    def die(*args, **kwargs):
        raise WorkerLost

    with monkeypatch.context() as patched:
        patched.setattr(operating, "job_succeed", die)
        with pytest.raises(WorkerLost):
            operations.vm_operate(job_id=job.pk)
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING
    assert domain(conn, vm).state()[0] == libvirt.VIR_DOMAIN_PAUSED

    run(job, vm)  # the broker redelivers

    assert job.state == JobState.SUCCEEDED
    assert "Restarted after an interrupted run" in messages(job)
    assert domain(conn, vm).state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert vm.state == "paused"


def test_shutdown_timeout_fails_the_job_and_suggests_force_off(build, conn, member, monkeypatch, settings):
    settings.PORTAL_SHUTDOWN_TIMEOUT = 1
    monkeypatch.setattr(LibvirtDriver, "domain_shutdown", lambda self, uuid: None)  # a guest that ignores ACPI
    vm = build()

    job = act(member, vm, "shutdown")

    assert job.state == JobState.FAILED
    assert job.error == "The guest did not power off within 1 s. You can force it off."
    assert messages(job)[-1] == "Failed: The guest did not power off within 1 s. You can force it off."
    assert domain(conn, vm).isActive()
    assert vm.state == "running"
    # the VM is not busy any more: forcing it off is offered and works
    assert act(member, vm, "power-off").state == JobState.SUCCEEDED
    assert not domain(conn, vm).isActive()


def test_reboot_of_a_domain_stopped_behind_the_portals_back_fails_readably(build, conn, member):
    vm = build()
    domain(conn, vm).destroy()  # the row still says running
    job = act(member, vm, "reboot")
    assert job.state == JobState.FAILED
    assert job.error == "The VM is not running."


def test_action_on_a_domain_gone_from_the_host_fails(build, conn, member):
    vm = build()
    dom = domain(conn, vm)
    dom.destroy()
    dom.undefine()
    VirtualMachine.objects.filter(pk=vm.pk).update(state="shutoff")
    vm.refresh_from_db()
    job = act(member, vm, "start")
    assert job.state == JobState.FAILED
    assert job.error == "Domain not found"
    assert vm.state == "shutoff", "the row is left for the reconcile to mark missing"


def test_start_clears_the_next_boot_note(build, conn, member):
    vm = build()
    act(member, vm, "power-off")
    VirtualMachine.objects.filter(pk=vm.pk).update(next_boot_note="New memory apply at the next boot.")
    vm.refresh_from_db()
    act(member, vm, "start")
    assert vm.state == "running"
    assert vm.next_boot_note == ""


def test_reboot_keeps_the_next_boot_note(build, conn, member):
    """A guest reboot stays in the same process: configuration changes wait for a real boot."""
    vm = build()
    VirtualMachine.objects.filter(pk=vm.pk).update(next_boot_note="New vCPUs apply at the next boot.")
    vm.refresh_from_db()
    act(member, vm, "reboot")
    assert vm.next_boot_note == "New vCPUs apply at the next boot."


# --- jobs that cannot run ---


def test_job_of_a_vm_without_host_fails(team, member, db):
    vm = VirtualMachineFactory(team=team, host=None, state="shutoff")
    job = job_create(action=VMJobAction.VM_START, team=team, requested_by=member, target=vm)
    run(job)
    assert job.state == JobState.FAILED
    assert job.error == "The VM is not placed on any host."


def test_job_of_a_vm_that_is_gone_fails(team, member, db):
    vm = VirtualMachineFactory(team=team, state="shutoff")
    job = job_create(action=VMJobAction.VM_START, team=team, requested_by=member, target=vm)
    vm.delete()
    run(job)
    assert job.state == JobState.FAILED
    assert job.error == "The VM no longer exists."


# --- host unreachable ---


def test_unreachable_host_retries_later_then_fails_on_the_last_attempt(build, conn, member, libvirt_test_host):
    vm = build()
    job = vm_action_request(actor=member, vm_id=vm.pk, slug="power-off")
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri=UNREACHABLE_URI)

    with pytest.raises(RetryLater):
        operations.vm_operate(job_id=job.pk, final_attempt=False)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert job.finished_at is None
    assert any(
        m.startswith(f"Host {libvirt_test_host.name} did not answer") and m.endswith("trying again later")
        for m in messages(job)
    )

    run(job, vm, final_attempt=True)
    assert job.state == JobState.FAILED
    assert "127.0.0.1" in job.error
    assert "Traceback" not in job.error
    assert domain(conn, vm).isActive(), "nothing happened to the domain"
    assert vm.state == "running"


def test_unreachable_host_keeps_resize_sizes_while_retrying_and_gives_them_back_at_the_end(
    build, member, team, libvirt_test_host
):
    vm = build()
    job = vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256)
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri=UNREACHABLE_URI)

    with pytest.raises(RetryLater):
        operations.vm_operate(job_id=job.pk, final_attempt=False)
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (2, 256), "still counted while the job may yet succeed"

    run(job, vm, final_attempt=True)
    assert job.state == JobState.FAILED
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    assert usage_of(team).used.vcpus == 1


# --- delete ---


def test_delete_removes_domain_disk_snapshots_and_row(build, conn, member, team):
    vm = build()
    run(vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="s1"), vm)
    assert volumes(conn) == [f"{vm.uuid}.qcow2"]
    assert usage_of(team).used.vm_count == 1

    job = act(member, vm, "delete")

    assert job.state == JobState.SUCCEEDED, job.error
    assert messages(job)[-1] == "The VM, its disk and its snapshots are gone; its quota is free"
    with pytest.raises(libvirt.libvirtError):
        domain(conn, vm)
    assert volumes(conn) == []
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert not Snapshot.objects.exists()
    assert AuditEvent.objects.filter(action="vm.deleted", target_id=str(vm.pk)).exists()
    usage = usage_of(team).used
    assert (usage.vm_count, usage.vcpus, usage.memory_mib) == (0, 0, 0)


def test_redelivered_delete_after_the_row_is_gone_succeeds(build, conn, member, monkeypatch):
    vm = build()
    job = vm_action_request(actor=member, vm_id=vm.pk, slug="delete")

    def die(*args, **kwargs):
        raise WorkerLost

    with monkeypatch.context() as patched:
        patched.setattr(operating, "job_succeed", die)
        with pytest.raises(WorkerLost):
            operations.vm_operate(job_id=job.pk)
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING

    run(job)

    assert job.state == JobState.SUCCEEDED
    assert messages(job)[-1] == "The VM was deleted by an earlier, interrupted run"
    assert volumes(conn) == []


def test_delete_of_a_vm_whose_domain_vanished(build, conn, member):
    vm = build()
    dom = domain(conn, vm)
    dom.destroy()
    dom.undefine()  # gone with virsh; its disk stays behind
    VirtualMachine.objects.filter(pk=vm.pk).update(state="missing")
    vm.refresh_from_db()

    job = act(member, vm, "delete")

    assert job.state == JobState.SUCCEEDED, job.error
    assert volumes(conn) == [], "the disk built for it is removed by name"
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
