"""Services that people call on their containers: power actions, remove, and joining or leaving networks.

Each checks the role and the container's state on the server, refuses while
another job works on the same container, and queues a job; the worker does the
rest (``containers/containers/operations.py``). A container joins only a network
of its own team: the check runs here, whatever the page or a hand-made POST asked.
"""

from __future__ import annotations

from celery import current_app
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from containers.choices import DockerNetworkState
from containers.containers import logs
from containers.containers.actions import ACTIONS, MEMBERSHIP_ACTIONS, OPERATE_TASK
from containers.models import Container, DockerNetwork
from portal.actions import ActionRefused, action_check, action_queue
from portal.choices import Role
from portal.models import Job
from portal.permissions import require_role
from portal.quotas import team_lock

AnyUser = User | AnonymousUser


@transaction.atomic
def container_action_request(*, actor: AnyUser, container_id: int, slug: str) -> Job:
    """Ask for start, stop, restart, pause, unpause or remove. Raises ``PermissionDenied`` or ``ActionRefused``."""
    team_id = Container.objects.values_list("team_id", flat=True).get(pk=container_id)
    team_lock(team_id)
    container = Container.objects.select_for_update(of=("self",)).select_related("team").get(pk=container_id)
    action = action_check(
        actor=actor, actions=ACTIONS, slug=slug, resource=container, team=container.team, noun="container"
    )
    return action_queue(
        actor=actor, team=container.team, resource=container, action=action, task=OPERATE_TASK,
        audit_prefix="container",
    )  # fmt: skip


@transaction.atomic
def container_network_request(*, actor: AnyUser, container_id: int, network_id: int, slug: str) -> Job:
    """Ask to connect a container to a network of its team ("connect") or disconnect it ("disconnect").

    Raises ``PermissionDenied``, ``ActionRefused`` or ``ValidationError``.
    """
    team_id = Container.objects.values_list("team_id", flat=True).get(pk=container_id)
    team_lock(team_id)
    container = Container.objects.select_for_update(of=("self",)).select_related("team").get(pk=container_id)
    action = action_check(
        actor=actor, actions=MEMBERSHIP_ACTIONS, slug=slug, resource=container, team=container.team, noun="container"
    )
    network = DockerNetwork.objects.filter(pk=network_id, team=container.team, state=DockerNetworkState.ACTIVE).first()
    if network is None:
        raise ValidationError({"network": "A container may only join an active network of its own team."})
    if network.docker_host_id != container.docker_host_id:
        raise ValidationError({"network": f"{network} is on {network.docker_host}, not on the container's engine."})
    joined = network.containers.filter(pk=container.pk).exists()
    if slug == "connect" and joined:
        raise ValidationError({"network": f"The container is already on {network}."})
    if slug == "disconnect" and not joined:
        raise ValidationError({"network": f"The container is not on {network}."})
    return action_queue(
        actor=actor, team=container.team, resource=container, action=action, task=OPERATE_TASK,
        audit_prefix="container", params={"network_id": network.pk},
    )  # fmt: skip


#: The task that copies a container's output into Redis for a while (it runs on the ``logs`` queue).
FOLLOW_TASK = "containers.tasks.container_logs_follow"


def container_logs_follow_request(*, actor: AnyUser, container_id: int) -> bool:
    """Ask a worker to follow a container's output live; False when one already does (or nothing runs yet).

    Members may ask; viewers only read what is kept. The task is sent after
    commit, like every other, so it never sees a state the database does not have.
    Raises ``ActionRefused`` when the team follows as many containers as it may.
    """
    container = Container.objects.select_related("team").get(pk=container_id)
    require_role(actor, container.team, Role.MEMBER)
    if not container.engine_id:
        return False
    try:
        if not logs.follow_claim(container.pk, container.team_id):
            return False
    except logs.TeamFollowsFull as error:
        raise ActionRefused(str(error)) from error
    transaction.on_commit(lambda: current_app.tasks[FOLLOW_TASK].delay(container.pk))
    return True
