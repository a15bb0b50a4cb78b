"""Services on container networks: removing one (asking for one goes through the request pipeline)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from containers.models import DockerNetwork
from containers.networks.actions import NETWORK_ACTIONS, OPERATE_TASK
from portal.actions import action_check, action_queue
from portal.models import Job

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
