"""The catalogue of actions on a VM network: which exist, in which states they make sense, who may ask."""

from __future__ import annotations

from hypervisors.choices import NetworkJobAction, NetworkState
from portal.actions import Action
from portal.choices import Role

#: The task that runs every network action.
OPERATE_TASK = "hypervisors.tasks.network_operate"
ANY = frozenset(NetworkState.values)
NETWORK_ACTIONS = {
    action.slug: action
    for action in (
        Action(
            NetworkJobAction.NETWORK_START, "start", "Start", frozenset({NetworkState.INACTIVE, NetworkState.MISSING})
        ),
        # A team's network carries every member's VMs: stopping or deleting it is destructive,
        # and with no owner of its own that leaves it to team admins (and portal administrators).
        Action(NetworkJobAction.NETWORK_STOP, "stop", "Stop", frozenset({NetworkState.ACTIVE}), owner_or_admin=True),
        Action(
            NetworkJobAction.NETWORK_DELETE,
            "delete",
            "Delete",
            ANY - {NetworkState.BUILDING},
            minimum_role=Role.TEAM_ADMIN,
            confirm="Delete this network?",
            owner_or_admin=True,
        ),
    )
}
