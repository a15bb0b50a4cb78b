"""Services on VM networks: their lifecycle (start, stop, delete) and VM network cards (attach, detach).

Shared networks are run by portal administrators; a team's own network by its
team admins too. A VM may join a shared network or one of its own team's, on
its own host, never another team's.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from hypervisors.actions import ACTIONS as VM_ACTIONS
from hypervisors.choices import NetworkKind, NetworkState
from hypervisors.drivers import HostUnreachable, driver_for
from hypervisors.models import VirtualMachine, VirtualNetwork, VMInterface
from hypervisors.network_kind import network_bring_up
from hypervisors.queues import host_queue
from hypervisors.vm_services import OPERATE_TASK, vm_locked
from portal.actions import Action, action_check, action_queue
from portal.choices import JobAction, Role
from portal.jobs import job_step
from portal.models import Job, Team
from portal.operating import Operator, operate_run
from portal.permissions import has_role, is_decider, require_decider

AnyUser = User | AnonymousUser

NETWORK_TASK = "hypervisors.tasks.network_operate"
ANY = frozenset(NetworkState.values)
NETWORK_ACTIONS = {
    action.slug: action
    for action in (
        Action(JobAction.NETWORK_START, "start", "Start", frozenset({NetworkState.INACTIVE, NetworkState.MISSING})),
        Action(JobAction.NETWORK_STOP, "stop", "Stop", frozenset({NetworkState.ACTIVE})),
        Action(
            JobAction.NETWORK_DELETE,
            "delete",
            "Delete",
            ANY - {NetworkState.BUILDING},
            minimum_role=Role.TEAM_ADMIN,
            confirm="Delete this network?",
        ),
    )
}


def networks_usable_by(team: Team | None) -> QuerySet[VirtualNetwork]:
    """Networks a team's VMs may join: the shared ones and the team's own, once built."""
    usable = Q(team__isnull=True) | Q(team=team) if team is not None else Q(team__isnull=True)
    return (
        VirtualNetwork.objects.filter(usable)
        .exclude(state=NetworkState.BUILDING)
        .select_related("host", "team")
        .order_by("host__name", "name")
    )


def mac_new() -> str:
    """A random locally administered MAC in QEMU's range, unused by the portal."""
    while True:
        mac = "52:54:00:" + ":".join(f"{byte:02x}" for byte in secrets.token_bytes(3))
        if not VMInterface.objects.filter(mac=mac).exists():
            return mac


def _require_network_admin(actor: AnyUser, network: VirtualNetwork) -> None:
    if network.team is None:
        require_decider(actor)
    elif not (has_role(actor, network.team, Role.TEAM_ADMIN) or is_decider(actor)):
        raise PermissionDenied("Only the team's admins or portal administrators may do this to the network.")


@transaction.atomic
def network_action_request(*, actor: AnyUser, network_id: int, slug: str) -> Job:
    """Ask to start, stop or delete a network. Raises ``PermissionDenied`` or ``ActionRefused``."""
    network = VirtualNetwork.objects.select_for_update(of=("self",)).select_related("team", "host").get(pk=network_id)
    _require_network_admin(actor, network)
    if slug == "delete" and network.interfaces.exists():
        raise ValidationError("VMs still have network cards on this network; detach them first.")
    # The role was checked just above (portal administrators may act on any network).
    action = action_check(actor=actor, actions=NETWORK_ACTIONS, slug=slug, resource=network, team=None, noun="network")
    return action_queue(
        actor=actor, team=network.team, resource=network, action=action, task=NETWORK_TASK, audit_prefix="network",
        queue=host_queue(network.host),
    )  # fmt: skip


@transaction.atomic
def network_register(*, actor: AnyUser, network: VirtualNetwork) -> Job:
    """Admins add a network directly (any kind): save the row and queue its definition on the host."""
    require_decider(actor)
    network.save()
    return action_queue(
        actor=actor, team=network.team, resource=network, action=NETWORK_ACTIONS["start"], task=NETWORK_TASK,
        audit_prefix="network", queue=host_queue(network.host),
    )  # fmt: skip


def network_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Worker side of a network action (see ``portal.operating``)."""
    operate_run(NETWORK_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _operate(job: Job, network: VirtualNetwork) -> str:
    if job.action == JobAction.NETWORK_START:
        return network_bring_up(job, network)
    if network.kind == NetworkKind.USER:  # nothing on the host to stop or remove
        if job.action == JobAction.NETWORK_STOP:
            network.state = NetworkState.INACTIVE
            network.save(update_fields=["state"])
            return "The network is stopped"
        network.delete()
        return "The network is gone"
    with driver_for(network.host.uri) as driver:
        if job.action == JobAction.NETWORK_STOP:
            job_step(job, "Stopping the network", 50)
            driver.network_stop(str(network.uuid))
            network.state = NetworkState.INACTIVE
            network.save(update_fields=["state"])
            return "The network is stopped"
        job_step(job, "Removing the network from the host", 50)
        driver.network_delete(str(network.uuid))
    network.delete()
    return "The network is gone"


NETWORK_OPERATOR = Operator(
    load=lambda job: VirtualNetwork.objects.select_related("host", "team").filter(pk=job.target_id).first(),
    operate=_operate,
    unreachable=(HostUnreachable,),
    noun="network",
    where=lambda network: f"Host {network.host.name}",
    delete_action=JobAction.NETWORK_DELETE,
)


@transaction.atomic
def vm_interface_request(*, actor: AnyUser, vm_id: int, slug: str, network_id: int) -> Job:
    """Ask to attach a VM to a network ("interface-attach") or detach it ("interface-detach").

    The network must be shared or the VM's team's own, and on the VM's host.
    """
    vm = vm_locked(vm_id)
    action = action_check(actor=actor, actions=VM_ACTIONS, slug=slug, resource=vm, team=vm.team, noun="VM")
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
    return action_queue(
        actor=actor, team=vm.team, resource=vm, action=action, task=OPERATE_TASK, audit_prefix="vm",
        queue=host_queue(vm.host), params={"network_id": network.pk, "mac": existing.mac},
    )  # fmt: skip


def vm_interfaces_create(vm: VirtualMachine, networks: list[VirtualNetwork]) -> None:
    """Network cards of a new VM, one per network asked for, with MACs chosen now."""
    for network in networks:
        VMInterface.objects.create(vm=vm, network=network, mac=mac_new())
