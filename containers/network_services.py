"""Connecting containers to their team's networks, and removing networks.

A container joins only a network of its own team: the check runs here, on the
server, whatever the page or a hand-made POST asked for.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from containers.choices import ContainerState, DockerNetworkState
from containers.drivers import ContainerNotFound, EngineUnreachable
from containers.models import Container, DockerNetwork
from containers.services import engine_of
from portal.actions import Action, action_check, action_queue
from portal.choices import JobAction, Role
from portal.jobs import job_step
from portal.models import Job
from portal.operating import Operator, operate_run
from portal.quotas import team_lock

AnyUser = User | AnonymousUser

NETWORK_TASK = "containers.tasks.docker_network_operate"
LIVE = frozenset(
    {
        ContainerState.RUNNING,
        ContainerState.PAUSED,
        ContainerState.EXITED,
        ContainerState.DEAD,
        ContainerState.RESTARTING,
    }
)
CONTAINER_NETWORK_ACTIONS = {
    "connect": Action(JobAction.CONTAINER_NETWORK_CONNECT, "connect", "Connect to a network", LIVE, has_form=True),
    "disconnect": Action(
        JobAction.CONTAINER_NETWORK_DISCONNECT, "disconnect", "Disconnect from a network", LIVE, has_form=True
    ),
}
NETWORK_DELETE = {
    "delete": Action(
        JobAction.CONTAINER_NETWORK_DELETE,
        "delete",
        "Delete",
        frozenset({DockerNetworkState.ACTIVE, DockerNetworkState.MISSING}),
        Role.TEAM_ADMIN,
    )
}


@transaction.atomic
def container_network_request(*, actor: AnyUser, container_id: int, network_id: int, slug: str) -> Job:
    """Ask to connect a container to a network of its team ("connect") or disconnect it ("disconnect").

    Raises ``PermissionDenied``, ``ActionRefused`` or ``ValidationError``.
    """
    team_id = Container.objects.values_list("team_id", flat=True).get(pk=container_id)
    team_lock(team_id)
    container = Container.objects.select_for_update(of=("self",)).select_related("team").get(pk=container_id)
    action = action_check(
        actor=actor, actions=CONTAINER_NETWORK_ACTIONS, slug=slug, resource=container, team=container.team,
        noun="container",
    )  # fmt: skip
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
        actor=actor, team=container.team, resource=container, action=action, task=NETWORK_TASK,
        audit_prefix="container", params={"network_id": network.pk},
    )  # fmt: skip


@transaction.atomic
def docker_network_delete_request(*, actor: AnyUser, network_id: int) -> Job:
    """Ask to remove a team's container network (team admins). Refused while containers are on it."""
    network = DockerNetwork.objects.select_for_update(of=("self",)).select_related("team").get(pk=network_id)
    action = action_check(
        actor=actor, actions=NETWORK_DELETE, slug="delete", resource=network, team=network.team, noun="network"
    )
    if network.containers.exists():
        raise ValidationError("Containers are still on this network; disconnect them first.")
    return action_queue(
        actor=actor, team=network.team, resource=network, action=action, task=NETWORK_TASK, audit_prefix="network"
    )


def docker_network_operate(*, job_id: int, final_attempt: bool = True) -> None:
    """Worker side: connect, disconnect, or remove a network on its engine (see ``portal.operating``)."""
    if Job.objects.filter(pk=job_id, action=JobAction.CONTAINER_NETWORK_DELETE).exists():
        operate_run(NETWORK_OPERATOR, job_id=job_id, final_attempt=final_attempt)
    else:
        operate_run(MEMBERSHIP_OPERATOR, job_id=job_id, final_attempt=final_attempt)


def _remove(job: Job, network: DockerNetwork) -> str:
    job_step(job, f"Removing {network.engine_name}", 50)
    with engine_of(network.docker_host) as engine:
        engine.network_remove(network.engine_id or network.engine_name)
    network.delete()
    return "The network is gone; its quota is free"


def _membership(job: Job, container: Container) -> str:
    network = DockerNetwork.objects.filter(pk=job.params.get("network_id")).first()
    if network is None:
        raise ContainerNotFound("The network no longer exists.")
    if network.team_id != container.team_id:  # checked again where the change is made
        raise ValidationError("A container may only join a network of its own team.")
    with engine_of(container.docker_host) as engine:
        if job.action == JobAction.CONTAINER_NETWORK_CONNECT:
            job_step(job, f"Connecting to {network}", 50)
            engine.network_connect(network.engine_id, container.engine_id)
            network.containers.add(container)
            return f"Connected to {network}"
        job_step(job, f"Disconnecting from {network}", 50)
        engine.network_disconnect(network.engine_id, container.engine_id)
        network.containers.remove(container)
        return f"Disconnected from {network}"


NETWORK_OPERATOR = Operator(
    load=lambda job: DockerNetwork.objects.select_related("docker_host", "team").filter(pk=job.target_id).first(),
    operate=_remove,
    unreachable=(EngineUnreachable,),
    noun="network",
    where=lambda network: f"Engine {network.docker_host.name}",
    delete_action=JobAction.CONTAINER_NETWORK_DELETE,
    delete_verb="removed",
)
MEMBERSHIP_OPERATOR = Operator(
    load=lambda job: Container.objects.select_related("docker_host").filter(pk=job.target_id).first(),
    operate=_membership,
    unreachable=(EngineUnreachable,),
    noun="container",
    where=lambda container: f"Engine {container.docker_host.name}",
)
