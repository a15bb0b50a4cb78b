"""Services that people call on their VMs: power actions, resize, snapshots, network cards, delete.

Each checks the role and the VM's state on the server, refuses while another
job works on the same VM, and queues a job; the worker does the rest
(``hypervisors/vms/operations.py``). Resizing checks the quota like any other ask.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum

from hypervisors.choices import HypervisorKind, VMState
from hypervisors.hosts.placement import host_growth_check
from hypervisors.models import MIN_VM_MEMORY_MIB, Snapshot, UnmanagedDomain, VirtualMachine, VirtualNetwork, VMInterface
from hypervisors.networks.selectors import networks_usable_by
from hypervisors.vms.actions import ACTIONS, OPERATE_TASK, VMAction
from portal.actions import ActionRefused, action_check, action_queue
from portal.audit import audit_record
from portal.models import Job, Team
from portal.permissions import require_decider
from portal.quotas import Amounts, demand_of, quota_check, team_lock

AnyUser = User | AnonymousUser

GIB = 1024**3

#: The actions the snapshot service takes; any other slug is refused there.
SNAPSHOT_ACTIONS = ("snapshot-create", "snapshot-revert", "snapshot-delete")


def vm_locked(vm_id: int) -> VirtualMachine:
    """Lock the VM's team, then the VM, for the rest of the transaction (the services' lock order)."""
    team_id = VirtualMachine.objects.values_list("team_id", flat=True).get(pk=vm_id)
    team_lock(team_id)
    return VirtualMachine.objects.select_for_update(of=("self",)).select_related("team", "host", "image").get(pk=vm_id)


def _checked(actor: AnyUser, vm: VirtualMachine, slug: str) -> VMAction:
    """The action, once the actor's role, the VM's state and its other jobs allow it."""
    return action_check(actor=actor, actions=ACTIONS, slug=slug, resource=vm, team=vm.team, noun="VM")


def _queue(actor: AnyUser, vm: VirtualMachine, action: VMAction, params: dict[str, Any] | None = None) -> Job:
    return action_queue(
        actor=actor, team=vm.team, resource=vm, action=action, task=OPERATE_TASK, audit_prefix="vm", params=params
    )  # fmt: skip


@transaction.atomic
def vm_action_request(*, actor: AnyUser, vm_id: int, slug: str) -> Job:
    """Ask for a power action or delete ("start", "shutdown", "delete"...).

    Raises ``PermissionDenied`` or ``ActionRefused``.
    """
    vm = vm_locked(vm_id)
    action = _checked(actor, vm, slug)
    if action.has_form:
        raise ActionRefused(f"{action.label} needs its form.")
    return _queue(actor, vm, action)


@transaction.atomic
def vm_resize_request(*, actor: AnyUser, vm_id: int, vcpus: int, memory_mib: int) -> Job:
    """Ask for new vCPUs and memory. Growth must fit in the team's quota and on the VM's host.

    Growth counts at once: the VM row takes the larger size now, so the quota and
    the host's room count it while the job runs (a failed resize puts the old
    sizes back). A shrink counts only once the guest really gave the resources
    back: the worker lowers the row when the change applied live, or leaves it
    pending until the host shows the new size (``hosts/inventory.py``).
    Raises ``PermissionDenied``, ``ActionRefused``, ``QuotaExceeded``, ``HostFull``
    or ``ValidationError``.
    """
    vm = vm_locked(vm_id)
    action = _checked(actor, vm, "resize")
    if (vcpus, memory_mib) == vm.size_target:
        raise ActionRefused("These are already the VM's sizes.")
    if vm.image is not None and memory_mib < vm.image.min_memory_mib:
        raise ValidationError({"memory_mib": f"{vm.image.name} needs at least {vm.image.min_memory_mib} MiB."})
    growth = Amounts(vcpus=Decimal(max(0, vcpus - vm.vcpus)), memory_mib=max(0, memory_mib - vm.memory_mib))
    quota_check(team=vm.team, demand=growth, include_pending=True)
    if vm.host_id is not None and (growth.vcpus or growth.memory_mib):
        host_growth_check(host_id=vm.host_id, vcpus=int(growth.vcpus), memory_mib=growth.memory_mib)
    params: dict[str, Any] = {
        "vcpus": vcpus,
        "memory_mib": memory_mib,
        "previous": {"vcpus": vm.vcpus, "memory_mib": vm.memory_mib},
    }
    if vm.pending_vcpus or vm.pending_memory_mib:
        params["previous_pending"] = {"vcpus": vm.pending_vcpus, "memory_mib": vm.pending_memory_mib}
    vm.vcpus, vm.memory_mib = max(vcpus, vm.vcpus), max(memory_mib, vm.memory_mib)
    vm.pending_vcpus = vm.pending_memory_mib = None
    vm.save(update_fields=["vcpus", "memory_mib", "pending_vcpus", "pending_memory_mib", "updated_at"])
    return _queue(actor, vm, action, params)


def snapshots_usage(team_ids: Sequence[int]) -> dict[int, Amounts]:
    """What the teams' snapshots take from their quotas: their number, and their size as disk.

    Sizes are what the host reported when each was taken; a snapshot still
    being taken counts in number at once and in size once it is measured.
    """
    rows = (
        Snapshot.objects.filter(vm__team_id__in=team_ids)
        .values("vm__team_id")
        .annotate(count=Count("id"), size=Sum("size_bytes"))
    )
    return {
        row["vm__team_id"]: Amounts(snapshot_count=row["count"], disk_gib=gib_rounded_up(row["size"] or 0))
        for row in rows
    }


def gib_rounded_up(size_bytes: int) -> int:
    """Bytes as whole GiB of disk quota, rounded up."""
    return -(-size_bytes // GIB)


def _snapshot_demand(vm: VirtualMachine) -> Amounts:
    """What one more snapshot of ``vm`` will take: one snapshot, and its RAM as disk when it runs.

    An internal snapshot of a running VM stores the guest's memory; of a
    stopped one, little more than the disk's metadata.
    """
    taken = Snapshot.objects.filter(vm__team_id=vm.team_id).aggregate(size=Sum("size_bytes"))["size"] or 0
    ram = vm.memory_mib * 1024 * 1024 if vm.state in (VMState.RUNNING, VMState.PAUSED) else 0
    return Amounts(snapshot_count=1, disk_gib=gib_rounded_up(taken + ram) - gib_rounded_up(taken))


@transaction.atomic
def vm_snapshot_request(*, actor: AnyUser, vm_id: int, slug: str, name: str) -> Job:
    """Ask to take ("snapshot-create"), revert to ("snapshot-revert") or delete ("snapshot-delete") a snapshot.

    A new snapshot must fit the team's snapshot and disk quotas, checked under
    the team lock; its row is written now, so that it counts while it is taken
    (a failed job removes it). Raises ``QuotaExceeded`` past the quota.
    """
    if slug not in SNAPSHOT_ACTIONS:
        raise ActionRefused(f"There is no snapshot action {slug!r}.")
    vm = vm_locked(vm_id)
    action = _checked(actor, vm, slug)
    exists = Snapshot.objects.filter(vm=vm, name=name).exists()
    if slug == "snapshot-create" and exists:
        raise ValidationError({"name": f"The VM already has a snapshot named {name!r}."})
    if slug != "snapshot-create" and not exists:
        raise ValidationError({"name": f"The VM has no snapshot named {name!r}."})
    if slug == "snapshot-create":
        quota_check(team=vm.team, demand=_snapshot_demand(vm), include_pending=True)
        Snapshot.objects.create(vm=vm, name=name, created_by=actor if actor.is_authenticated else None)
    return _queue(actor, vm, action, {"name": name})


def adoption_name(domain_name: str) -> str:
    """A VM name (a DNS label) made from a domain's name: lowercase, other characters as hyphens."""
    label = re.sub(r"[^a-z0-9-]+", "-", domain_name.lower()).strip("-")[:63].strip("-")
    return label or "adopted"


@transaction.atomic
def vm_adopt(*, actor: AnyUser, unmanaged_id: int, team: Team, owner: User | None = None) -> VirtualMachine:
    """Take a domain the portal found on a host into a team, counted in its quota from now on.

    Portal administrators only. Raises ``PermissionDenied``, ``QuotaExceeded`` or
    ``ValidationError`` (name taken in the team).
    """
    require_decider(actor)
    locked_team = team_lock(team.pk)
    domain = UnmanagedDomain.objects.select_for_update(of=("self",)).select_related("host").get(pk=unmanaged_id)
    name = adoption_name(domain.name)
    if VirtualMachine.objects.filter(team=locked_team, name=name).exists():
        raise ValidationError(f"Team {locked_team} already has a VM named {name!r}.")
    vcpus, memory_mib, disk_gib = (
        domain.vcpus or 1,
        max(domain.memory_mib or 0, MIN_VM_MEMORY_MIB),
        domain.disk_gib or 1,
    )
    demand = demand_of(kind=HypervisorKind.VM, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    quota_check(team=locked_team, demand=demand, include_pending=True)
    vm = VirtualMachine.objects.create(
        team=locked_team,
        owner=owner,
        host=domain.host,
        name=name,
        uuid=domain.uuid,
        domain_name=domain.name,
        vcpus=vcpus,
        memory_mib=memory_mib,
        disk_gib=disk_gib,
        state=domain.state,
    )
    domain.delete()
    audit_record(actor=actor, action="vm.adopt", target=vm, team=locked_team, detail=f"domain {domain.name}")
    return vm


def mac_new() -> str:
    """A random locally administered MAC in QEMU's range, unused by the portal."""
    while True:
        mac = "52:54:00:" + ":".join(f"{byte:02x}" for byte in secrets.token_bytes(3))
        if not VMInterface.objects.filter(mac=mac).exists():
            return mac


@transaction.atomic
def vm_interface_request(*, actor: AnyUser, vm_id: int, slug: str, network_id: int) -> Job:
    """Ask to attach a VM to a network ("interface-attach") or detach it ("interface-detach").

    The network must be shared or the VM's team's own, and on the VM's host.
    """
    vm = vm_locked(vm_id)
    action = _checked(actor, vm, slug)
    if slug not in ("interface-attach", "interface-detach"):
        raise ValidationError(f"There is no interface action {slug!r}.")
    network = networks_usable_by(vm.team).filter(pk=network_id).first()
    if network is None:
        raise ValidationError({"network": "Pick a shared network or one of your team's."})
    if network.host_id != vm.host_id:
        raise ValidationError({"network": f"{network} is on host {network.host}, not on the VM's host."})
    existing = VMInterface.objects.filter(vm=vm, network=network).first()
    if slug == "interface-attach":
        if existing is not None:
            raise ValidationError({"network": f"The VM is already on {network}."})
        existing = VMInterface.objects.create(vm=vm, network=network, mac=mac_new())
    elif existing is None:
        raise ValidationError({"network": f"The VM is not on {network}."})
    return _queue(actor, vm, action, params={"network_id": network.pk, "mac": existing.mac})


def vm_interfaces_create(vm: VirtualMachine, networks: list[VirtualNetwork]) -> None:
    """Network cards of a new VM, one per network asked for, with MACs chosen now."""
    for network in networks:
        VMInterface.objects.create(vm=vm, network=network, mac=mac_new())
