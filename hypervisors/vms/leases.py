"""What a lease does to a VM: the system shuts it down at the lease's end and deletes it after the grace.

Both go through the VM's own actions (the same job, audit and busy check as a person's), asked
by the system (no actor). Each returns None when there is nothing left to do, so a second run is
harmless, and raises ``ActionRefused`` while another job works on the VM (the scan tries later).
"""

from __future__ import annotations

from django.db import transaction

from hypervisors.choices import VMState
from hypervisors.models import VirtualMachine
from hypervisors.vms.actions import ACTIONS, OPERATE_TASK
from hypervisors.vms.services import vm_locked
from portal.actions import ActionRefused, action_queue, resource_busy
from portal.models import Job


def _locked_or_none(vm_id: int) -> VirtualMachine | None:
    try:
        return vm_locked(vm_id)
    except VirtualMachine.DoesNotExist:
        return None


def _queue(vm: VirtualMachine, slug: str, detail: str) -> Job:
    if resource_busy(vm):
        raise ActionRefused("Another operation on this VM is still running.")
    return action_queue(
        actor=None, team=vm.team, resource=vm, action=ACTIONS[slug], task=OPERATE_TASK, audit_prefix="vm",
        params={"reason": detail},
    )  # fmt: skip


@transaction.atomic
def vm_lease_stop(vm_id: int, detail: str) -> Job | None:
    """Shut the VM down (ACPI) when it runs, force it off when paused; None when it is not on."""
    vm = _locked_or_none(vm_id)
    if vm is None:
        return None
    if vm.state == VMState.BUILDING:
        raise ActionRefused("The VM is still being built.")
    slug = {VMState.RUNNING: "shutdown", VMState.PAUSED: "power-off"}.get(VMState(vm.state))
    return _queue(vm, slug, detail) if slug else None


@transaction.atomic
def vm_lease_delete(vm_id: int, detail: str) -> Job | None:
    """Delete the VM, its disk and its snapshots; None when it is already gone."""
    vm = _locked_or_none(vm_id)
    if vm is None:
        return None
    if vm.state not in ACTIONS["delete"].allowed_states:
        raise ActionRefused(f"A VM that is {vm.get_state_display().lower()} cannot be deleted now.")
    return _queue(vm, "delete", detail)
