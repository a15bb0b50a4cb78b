"""Services on VM networks: their lifecycle (start, stop, delete), networks admins add directly, and
each team's own network on a host.

Shared networks are run by portal administrators; a team's own network by its
team admins too. A team's own network on a host is made by the portal the first
time one of its VMs there is asked for without a network, counted in no quota.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from hypervisors.choices import NetworkKind
from hypervisors.models import AddressPool, Host, VirtualNetwork
from hypervisors.networks.actions import NETWORK_ACTIONS, OPERATE_TASK
from hypervisors.networks.addressing import host_lock, subnet_allocate, subnet_check_free
from portal.actions import action_check, action_queue
from portal.bases import team_network_name
from portal.choices import Role
from portal.models import Job, Team
from portal.permissions import has_role, is_decider, require_decider

AnyUser = User | AnonymousUser


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
        actor=actor, team=network.team, resource=network, action=action, task=OPERATE_TASK, audit_prefix="network",
    )  # fmt: skip


@transaction.atomic
def network_register(*, actor: AnyUser, network: VirtualNetwork) -> Job:
    """Admins add a network directly (any kind): save the row and queue its definition on the host."""
    require_decider(actor)
    if network.subnet:
        # Checked again under the host's lock: a subnet added in admin cannot race a team's ask for it.
        host_lock(network.host_id)
        subnet_check_free(host=network.host, subnet=network.subnet, exclude_id=network.pk)
    network.save()
    return action_queue(
        actor=actor, team=network.team, resource=network, action=NETWORK_ACTIONS["start"], task=OPERATE_TASK,
        audit_prefix="network",
    )  # fmt: skip


@transaction.atomic
def team_network_ensure(*, team: Team, host: Host) -> VirtualNetwork:
    """The team's own NAT network row on a host, made on first use with a subnet from the address pools.

    Idempotent: the host lock serializes jobs that race to make it (and the
    subnet choice), and a unique constraint allows one per team and host. Only
    the row: the worker defines and starts it on the host. Raises
    ``ValidationError`` naming what an administrator must add when no pool has room.
    """
    locked = host_lock(host.pk)
    existing = VirtualNetwork.objects.filter(team=team, host=locked, is_team_default=True).first()
    if existing is not None:
        return existing
    return VirtualNetwork.objects.create(
        host=locked,
        team=team,
        name=team_network_name(locked.name),
        kind=NetworkKind.NAT,
        subnet=_subnet_from_pools(locked),
        is_team_default=True,
    )


def _subnet_from_pools(host: Host) -> str:
    """The first subnet free on the host in any address pool; call with the host locked."""
    pools = list(AddressPool.objects.all())
    if not pools:
        raise ValidationError(
            "No address pool is configured, so the team's own network cannot get a subnet: an administrator "
            "must add an address pool (Admin > Hypervisors > Address pools), e.g. 10.200.0.0/16 cut into /24s."
        )
    for pool in pools:
        try:
            return subnet_allocate(host=host, pool=pool)
        except ValidationError:
            continue
    raise ValidationError(
        f"Every address pool is used up on host {host}, so the team's own network cannot get a subnet: "
        "an administrator must add an address pool (Admin > Hypervisors > Address pools) or enlarge one."
    )
