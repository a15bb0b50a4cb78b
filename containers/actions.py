"""The catalogue of actions on a container, and in which states each makes sense."""

from __future__ import annotations

from containers.choices import ContainerState as S
from portal.actions import Action
from portal.choices import JobAction

ACTIONS = {
    action.slug: action
    for action in (
        Action(JobAction.CONTAINER_START, "start", "Start", frozenset({S.EXITED, S.DEAD})),
        Action(JobAction.CONTAINER_STOP, "stop", "Stop", frozenset({S.RUNNING, S.PAUSED, S.RESTARTING})),
        Action(JobAction.CONTAINER_RESTART, "restart", "Restart", frozenset({S.RUNNING, S.EXITED})),
        Action(JobAction.CONTAINER_PAUSE, "pause", "Pause", frozenset({S.RUNNING})),
        Action(JobAction.CONTAINER_UNPAUSE, "unpause", "Unpause", frozenset({S.PAUSED})),
        Action(
            JobAction.CONTAINER_REMOVE,
            "remove",
            "Remove",
            frozenset({S.RUNNING, S.PAUSED, S.RESTARTING, S.EXITED, S.DEAD, S.MISSING, S.UNKNOWN}),
            confirm="Remove this container for good? Its quota is freed.",
        ),
    )
}

#: Buttons in this order.
BUTTONS = ("start", "stop", "restart", "pause", "unpause", "remove")
