"""The catalogue of actions on a VM: which exist, in which states they make sense, who may ask.

Pages offer only what this allows; the services refuse the rest whatever the
page showed. What loses the guest's work or data is ``owner_or_admin`` (see
``portal.actions``).
"""

from __future__ import annotations

from hypervisors.choices import VMJobAction, VMState
from portal.actions import Action

RUNNING = frozenset({VMState.RUNNING})
STOPPED = frozenset({VMState.SHUTOFF, VMState.CRASHED})
ON = frozenset({VMState.RUNNING, VMState.PAUSED})
SETTLED = frozenset({VMState.RUNNING, VMState.PAUSED, VMState.SHUTOFF, VMState.CRASHED})


#: The task that runs every VM action.
OPERATE_TASK = "hypervisors.tasks.vm_operate"

#: Actions on VMs are the portal's generic actions.
VMAction = Action


ACTIONS = {
    action.slug: action
    for action in (
        VMAction(VMJobAction.VM_START, "start", "Start", STOPPED),
        VMAction(VMJobAction.VM_SHUTDOWN, "shutdown", "Shut down", RUNNING),
        VMAction(
            VMJobAction.VM_POWER_OFF,
            "power-off",
            "Force off",
            ON,
            confirm="Pull the plug? Unsaved data in the VM is lost.",
            owner_or_admin=True,
        ),
        VMAction(VMJobAction.VM_REBOOT, "reboot", "Reboot", RUNNING),
        VMAction(
            VMJobAction.VM_RESET,
            "reset",
            "Reset",
            RUNNING,
            confirm="Reset the VM like its reset button?",
            owner_or_admin=True,
        ),
        VMAction(VMJobAction.VM_SUSPEND, "suspend", "Suspend", RUNNING),
        VMAction(VMJobAction.VM_RESUME, "resume", "Resume", frozenset({VMState.PAUSED})),
        VMAction(
            VMJobAction.VM_DELETE,
            "delete",
            "Delete",
            SETTLED | {VMState.MISSING, VMState.UNKNOWN},
            confirm="Delete this VM, its disk and its snapshots for good?",
            owner_or_admin=True,
        ),
        VMAction(VMJobAction.VM_RESIZE, "resize", "Resize", SETTLED, has_form=True),
        VMAction(VMJobAction.VM_SNAPSHOT_CREATE, "snapshot-create", "Take snapshot", SETTLED, has_form=True),
        VMAction(
            VMJobAction.VM_SNAPSHOT_REVERT,
            "snapshot-revert",
            "Revert to snapshot",
            SETTLED,
            has_form=True,
            owner_or_admin=True,
        ),
        VMAction(
            VMJobAction.VM_SNAPSHOT_DELETE,
            "snapshot-delete",
            "Delete snapshot",
            SETTLED,
            has_form=True,
            owner_or_admin=True,
        ),
        VMAction(VMJobAction.VM_INTERFACE_ATTACH, "interface-attach", "Attach to a network", SETTLED, has_form=True),
        VMAction(VMJobAction.VM_INTERFACE_DETACH, "interface-detach", "Detach from a network", SETTLED, has_form=True),
    )
}

#: Actions shown as plain buttons, in this order.
BUTTONS = ("start", "shutdown", "reboot", "suspend", "resume", "reset", "power-off", "delete")


def action_by_job(job_action: str) -> VMAction:
    """The action a job performs."""
    for action in ACTIONS.values():
        if action.job_action == job_action:
            return action
    raise LookupError(f"No VM action for job action {job_action!r}")
