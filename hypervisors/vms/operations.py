"""The worker side of VM actions: do what a job asks on the host, then record what the host says.

Every operation is idempotent (starting a running VM, deleting a deleted one,
taking a snapshot that exists: all success), so a redelivered job is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hypervisors.choices import NetworkKind, VMJobAction, VMState
from hypervisors.drivers import DriverError, HostUnreachable, HypervisorDriver, InterfaceSpec, driver_for
from hypervisors.models import Snapshot, VirtualMachine, VMInterface
from portal.audit import audit_record
from portal.jobs import job_step
from portal.models import Job
from portal.operations import Operator, operate_run

logger = logging.getLogger(__name__)

Operation = Callable[[Job, VirtualMachine, HypervisorDriver], str]


def vm_state_record(vm: VirtualMachine, state: str) -> None:
    """Store a VM's state as the host reports it; starting from shut off applies next-boot changes."""
    fields = ["state", "state_changed_at", "updated_at"]
    if state == VMState.RUNNING and vm.state in (VMState.SHUTOFF, VMState.CRASHED) and vm.next_boot_note:
        vm.next_boot_note = ""
        fields.append("next_boot_note")
    if vm.state != state:
        vm.state = state
        vm.state_changed_at = timezone.now()
        vm.save(update_fields=fields)


def _refresh(vm: VirtualMachine, driver: HypervisorDriver) -> str:
    status = driver.domain_status(str(vm.uuid))
    vm_state_record(vm, status.state)
    return f"The VM is {vm.get_state_display().lower()}"


def _start(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    job_step(job, "Starting the domain", 50)
    driver.domain_start(str(vm.uuid))
    return _refresh(vm, driver)


def _shutdown(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    timeout = settings.PORTAL_SHUTDOWN_TIMEOUT
    job_step(job, f"Asking the guest to power off (ACPI); waiting up to {timeout} s", 20)
    driver.domain_shutdown(str(vm.uuid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.domain_status(str(vm.uuid)).state == VMState.SHUTOFF:
            return _refresh(vm, driver)
        time.sleep(0.5)
    _refresh(vm, driver)
    raise DriverError(f"The guest did not power off within {timeout} s. You can force it off.")


def _simple(message: str, call: Callable[[HypervisorDriver, str], None]) -> Operation:
    """An operation that is one driver call followed by a state refresh."""

    def operate(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
        job_step(job, message, 50)
        call(driver, str(vm.uuid))
        return _refresh(vm, driver)

    return operate


def _resize(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    vcpus, memory_mib = int(job.params["vcpus"]), int(job.params["memory_mib"])
    job_step(job, f"Setting {vcpus} vCPUs", 30)
    cpu = driver.domain_set_vcpus(str(vm.uuid), vcpus)
    job_step(job, f"Setting {memory_mib} MiB of memory", 60)
    memory = driver.domain_set_memory(str(vm.uuid), memory_mib)
    later = [text for text, result in (("vCPUs", cpu), ("memory", memory)) if not result.live]
    running = driver.domain_status(str(vm.uuid)).state in (VMState.RUNNING, VMState.PAUSED)
    _shrink_record(
        vm, vcpus=vcpus, memory_mib=memory_mib, cpu_live=cpu.live or not running, memory_live=memory.live or not running
    )
    vm.next_boot_note = f"New {' and '.join(later)} apply at the next boot." if later and running else ""
    sizes = ["vcpus", "memory_mib", "pending_vcpus", "pending_memory_mib"]
    vm.save(update_fields=[*sizes, "next_boot_note", "updated_at"])
    applied = "applied live" if not later else vm.next_boot_note or "applied to the stopped VM"
    _refresh(vm, driver)
    return f"Resized to {vcpus} vCPUs and {memory_mib} MiB: {applied}"


def _shrink_record(vm: VirtualMachine, *, vcpus: int, memory_mib: int, cpu_live: bool, memory_live: bool) -> None:
    """Count a shrink once the guest gave the resources back; until then keep it pending.

    A stopped VM takes its new size at its next start, so it holds nothing more
    now: its shrink counts at once, like a live one.
    """
    if vcpus < vm.vcpus:
        if cpu_live:
            vm.vcpus, vm.pending_vcpus = vcpus, None
        else:
            vm.pending_vcpus = vcpus
    if memory_mib < vm.memory_mib:
        if memory_live:
            vm.memory_mib, vm.pending_memory_mib = memory_mib, None
        else:
            vm.pending_memory_mib = memory_mib


def _resize_undo(job: Job, vm: VirtualMachine) -> None:
    """A failed resize gives the quota back: the VM row returns to its old sizes."""
    previous = job.params.get("previous", {})
    vm.vcpus = previous.get("vcpus", vm.vcpus)
    vm.memory_mib = previous.get("memory_mib", vm.memory_mib)
    pending = job.params.get("previous_pending", {})
    vm.pending_vcpus, vm.pending_memory_mib = pending.get("vcpus"), pending.get("memory_mib")
    vm.save(update_fields=["vcpus", "memory_mib", "pending_vcpus", "pending_memory_mib", "updated_at"])


def _snapshot_create(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    name = job.params["name"]
    assert vm.host is not None
    before = driver.volume_allocation(pool=vm.host.storage_pool, name=vm.volume_name)
    job_step(job, f"Taking snapshot {name}", 40)
    existed = name in driver.snapshots_list(str(vm.uuid))
    driver.snapshot_create(str(vm.uuid), name)
    after = driver.volume_allocation(pool=vm.host.storage_pool, name=vm.volume_name)
    snapshot, _ = Snapshot.objects.get_or_create(vm=vm, name=name, defaults={"created_by": job.requested_by})
    # Internal snapshots grow the disk's file: that growth is what the host says this one costs.
    # A redelivered job whose snapshot existed already keeps the size it measured then.
    if not existed and before is not None and after is not None:
        snapshot.size_bytes = max(0, after - before)
        snapshot.save(update_fields=["size_bytes"])
    _refresh(vm, driver)
    size = f" ({snapshot.size_bytes // (1024 * 1024)} MiB on the host)" if snapshot.size_bytes else ""
    return f"Snapshot {name} taken{size}"


def _snapshot_revert(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    name = job.params["name"]
    job_step(job, f"Reverting to snapshot {name}", 40)
    driver.snapshot_revert(str(vm.uuid), name)
    # A snapshot carries the sizes it was taken with; the VM keeps the sizes its quota counts.
    job_step(job, f"Keeping the VM at {vm.vcpus} vCPUs and {vm.memory_mib} MiB", 70)
    cpu = driver.domain_set_vcpus(str(vm.uuid), vm.vcpus)
    memory = driver.domain_set_memory(str(vm.uuid), vm.memory_mib)
    if not (cpu.live and memory.live) and driver.domain_status(str(vm.uuid)).state == VMState.RUNNING:
        vm.next_boot_note = "The VM's sizes apply again at the next boot."
        vm.save(update_fields=["next_boot_note", "updated_at"])
    return f"Reverted to {name}; " + _refresh(vm, driver).lower()


def _snapshot_delete(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    name = job.params["name"]
    job_step(job, f"Deleting snapshot {name}", 40)
    driver.snapshot_delete(str(vm.uuid), name)
    Snapshot.objects.filter(vm=vm, name=name).delete()
    return f"Snapshot {name} deleted"


def _delete(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    assert vm.host is not None
    job_step(job, "Removing the domain, its snapshots and disks", 30)
    driver.domain_delete(str(vm.uuid), with_storage=True)
    job_step(job, "Making sure the disk built for it is gone", 60)
    driver.volume_delete(pool=vm.host.storage_pool, name=vm.volume_name)
    driver.volume_delete(pool=vm.host.storage_pool, name=vm.seed_volume_name)  # absent (no seed) is success
    with transaction.atomic():
        audit_record(actor=job.requested_by, action="vm.deleted", target=vm, team=vm.team)
        vm.delete()
    return "The VM, its disk and its snapshots are gone; its quota is free"


def _interface_attach(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    interface = VMInterface.objects.select_related("network").get(vm=vm, mac=job.params["mac"])
    job_step(job, f"Attaching a network card on {interface.network}", 40)
    card = InterfaceSpec(
        mac=interface.mac,
        network=interface.network.libvirt_name,
        user_mode=interface.network.kind == NetworkKind.USER,
    )
    result = driver.domain_interface_attach(str(vm.uuid), card)
    interface.attached = True
    interface.save(update_fields=["attached"])
    if not result.live:
        vm.next_boot_note = "A new network card appears at the next boot."
        vm.save(update_fields=["next_boot_note", "updated_at"])
    _refresh(vm, driver)
    return f"Attached to {interface.network} ({interface.mac}), " + ("live" if result.live else "at the next boot")


def _interface_detach(job: Job, vm: VirtualMachine, driver: HypervisorDriver) -> str:
    mac = job.params["mac"]
    job_step(job, f"Detaching the network card {mac}", 40)
    result = driver.domain_interface_detach(str(vm.uuid), mac)
    VMInterface.objects.filter(vm=vm, mac=mac).delete()
    _refresh(vm, driver)
    return f"Detached {mac}, " + ("live" if result.live else "from the configuration")


def _snapshot_create_undo(job: Job, vm: VirtualMachine) -> None:
    """A snapshot that was not taken leaves no row counting against the quota."""
    name = job.params.get("name")
    host = vm.host
    if host is not None:
        try:
            with driver_for(host.uri) as driver:
                if name in driver.snapshots_list(str(vm.uuid)):
                    return
        except DriverError:
            pass  # the host cannot say: the row goes, the next snapshot list will not show it either
    Snapshot.objects.filter(vm=vm, name=name).delete()


def _interface_attach_undo(job: Job, vm: VirtualMachine) -> None:
    """A failed attach leaves no card row behind."""
    VMInterface.objects.filter(vm=vm, mac=job.params.get("mac"), attached=False).delete()


OPERATIONS: dict[str, Operation] = {
    VMJobAction.VM_START: _start,
    VMJobAction.VM_SHUTDOWN: _shutdown,
    VMJobAction.VM_POWER_OFF: _simple("Forcing the VM off", lambda d, u: d.domain_power_off(u)),
    VMJobAction.VM_REBOOT: _simple("Asking the guest to reboot (ACPI)", lambda d, u: d.domain_reboot(u)),
    VMJobAction.VM_RESET: _simple("Resetting the VM", lambda d, u: d.domain_reset(u)),
    VMJobAction.VM_SUSPEND: _simple("Pausing the VM", lambda d, u: d.domain_suspend(u)),
    VMJobAction.VM_RESUME: _simple("Resuming the VM", lambda d, u: d.domain_resume(u)),
    VMJobAction.VM_RESIZE: _resize,
    VMJobAction.VM_SNAPSHOT_CREATE: _snapshot_create,
    VMJobAction.VM_SNAPSHOT_REVERT: _snapshot_revert,
    VMJobAction.VM_SNAPSHOT_DELETE: _snapshot_delete,
    VMJobAction.VM_DELETE: _delete,
    VMJobAction.VM_INTERFACE_ATTACH: _interface_attach,
    VMJobAction.VM_INTERFACE_DETACH: _interface_detach,
}

#: What to undo in the database when an operation fails.
UNDO: dict[str, Callable[[Job, VirtualMachine], None]] = {
    VMJobAction.VM_RESIZE: _resize_undo,
    VMJobAction.VM_SNAPSHOT_CREATE: _snapshot_create_undo,
    VMJobAction.VM_INTERFACE_ATTACH: _interface_attach_undo,
}


def vm_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Run the VM action of a job (see ``portal.operations``)."""
    operate_run(VM_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, vm: VirtualMachine) -> str:
    if vm.host is None:
        raise DriverError("The VM is not placed on any host.")
    with driver_for(vm.host.uri) as driver:
        return OPERATIONS[job.action](job, vm, driver)


def _undo(job: Job, vm: VirtualMachine) -> None:
    undo = UNDO.get(job.action)
    if undo is not None:
        undo(job, vm)


VM_OPERATOR = Operator(
    load=lambda job: VirtualMachine.objects.select_related("host", "team").filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(HostUnreachable,),
    noun="VM",
    where=lambda vm: f"Host {vm.host.name}" if vm.host else "The host",
    delete_action=VMJobAction.VM_DELETE,
    undo=_undo,
)
