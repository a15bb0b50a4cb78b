"""Services on container networks: each team's own network, and removing one.

Asking for a further network goes through the request pipeline; a team's own
network on an engine is made by the portal the first time one of its containers
needs it, counted in no quota.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from containers.models import DockerHost, DockerNetwork
from containers.networks.actions import NETWORK_ACTIONS, OPERATE_TASK
from portal.actions import action_check, action_queue
from portal.bases import team_network_name
from portal.models import Job, Team

AnyUser = User | AnonymousUser


@transaction.atomic
def docker_network_delete_request(*, actor: AnyUser, network_id: int) -> Job:
    """Ask to remove a team's container network (team admins). Refused while containers are on it."""
    network = DockerNetwork.objects.select_for_update(of=("self",)).select_related("team").get(pk=network_id)
    action = action_check(
        actor=actor, actions=NETWORK_ACTIONS, slug="delete", resource=network, team=network.team, noun="network"
    )
    if network.containers.exists():
        raise ValidationError("Containers are still on this network; disconnect them first.")
    return action_queue(
        actor=actor, team=network.team, resource=network, action=action, task=OPERATE_TASK, audit_prefix="network"
    )


def team_network_ensure(*, team: Team, docker_host: DockerHost) -> DockerNetwork:
    """The team's own network row on an engine, made on first use. Idempotent, also when two jobs race.

    Only the row: the worker creates the network on the engine (``docker_network_labels``
    names it there). A unique constraint allows one per team and engine.
    """
    existing = DockerNetwork.objects.filter(team=team, docker_host=docker_host, is_team_default=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return DockerNetwork.objects.create(
                team=team, docker_host=docker_host, name=team_network_name(docker_host.name), is_team_default=True
            )
    except IntegrityError:  # another job made it first
        return DockerNetwork.objects.get(team=team, docker_host=docker_host, is_team_default=True)


def docker_network_labels(network: DockerNetwork) -> dict[str, str]:
    """The labels that mark a network on the engine as the team's."""
    return {"portal.team": network.team.slug, "portal.name": network.name}
