"""The catalogue of actions on a container network, and who may ask."""

from __future__ import annotations

from containers.choices import ContainerNetworkJobAction, DockerNetworkState
from portal.actions import Action
from portal.choices import Role

#: The task that runs every container network action.
OPERATE_TASK = "containers.tasks.docker_network_operate"

NETWORK_ACTIONS = {
    "delete": Action(
        ContainerNetworkJobAction.CONTAINER_NETWORK_DELETE,
        "delete",
        "Delete",
        frozenset({DockerNetworkState.ACTIVE, DockerNetworkState.MISSING}),
        Role.TEAM_ADMIN,
        # Shared by the team's containers and owned by no one member: team admins only.
        owner_or_admin=True,
    )
}
