"""The catalogue of actions on a container, and in which states each makes sense."""

from __future__ import annotations

from containers.choices import ContainerJobAction
from containers.choices import ContainerState as S
from portal.actions import Action

#: The task that runs every container action.
OPERATE_TASK = "containers.tasks.container_operate"
#: States in which a container can join or leave a network.
LIVE = frozenset({S.RUNNING, S.PAUSED, S.EXITED, S.DEAD, S.RESTARTING})

ACTIONS = {
    action.slug: action
    for action in (
        Action(ContainerJobAction.CONTAINER_START, "start", "Start", frozenset({S.EXITED, S.DEAD})),
        Action(ContainerJobAction.CONTAINER_STOP, "stop", "Stop", frozenset({S.RUNNING, S.PAUSED, S.RESTARTING})),
        Action(ContainerJobAction.CONTAINER_RESTART, "restart", "Restart", frozenset({S.RUNNING, S.EXITED})),
        Action(ContainerJobAction.CONTAINER_PAUSE, "pause", "Pause", frozenset({S.RUNNING})),
        Action(ContainerJobAction.CONTAINER_UNPAUSE, "unpause", "Unpause", frozenset({S.PAUSED})),
        Action(
            ContainerJobAction.CONTAINER_REMOVE,
            "remove",
            "Remove",
            frozenset({S.RUNNING, S.PAUSED, S.RESTARTING, S.EXITED, S.DEAD, S.MISSING, S.UNKNOWN}),
            confirm="Remove this container for good? Its quota is freed.",
            owner_or_admin=True,
        ),
    )
}

#: Joining and leaving a network: container actions too, taken by their own service (they need a network).
MEMBERSHIP_ACTIONS = {
    action.slug: action
    for action in (
        Action(ContainerJobAction.CONTAINER_NETWORK_CONNECT, "connect", "Connect to a network", LIVE, has_form=True),
        Action(
            ContainerJobAction.CONTAINER_NETWORK_DISCONNECT,
            "disconnect",
            "Disconnect from a network",
            LIVE,
            has_form=True,
        ),
    )
}

#: Buttons in this order.
BUTTONS = ("start", "stop", "restart", "pause", "unpause", "remove")
