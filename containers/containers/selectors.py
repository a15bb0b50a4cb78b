"""Reads of containers and images, always scoped to the user's teams."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from containers.choices import ContainerKind
from containers.models import Container, ContainerImage, ContainerStatSample, DockerHost
from portal.choices import ACTIVE_REQUEST_STATES
from portal.models import ResourceRequest, Team

AnyUser = User | AnonymousUser


def containers_for(user: AnyUser) -> QuerySet[Container]:
    """Containers of the user's teams, with what list pages show."""
    return Container.objects.for_user(user).select_related("team", "docker_host", "image", "owner")


def container_get(user: AnyUser, container_id: int) -> Container:
    """One container of the user's teams, or 404."""
    return get_object_or_404(containers_for(user), pk=container_id)


def container_samples_since(container: Container, since: datetime) -> list[ContainerStatSample]:
    """The container's load samples from ``since`` on (a little before, as for VMs), oldest first."""
    return list(container.stat_samples.filter(taken_at__gte=since - timedelta(minutes=5)).order_by("taken_at"))


def images_offered_to(teams: QuerySet[Team]) -> QuerySet[ContainerImage]:
    """Images present on a reachable-or-not engine and offered to any of these teams."""
    return (
        ContainerImage.objects.filter(present=True, offered_to__in=teams, docker_host__accepts_new_containers=True)
        .select_related("docker_host")
        .distinct()
        .order_by("reference")
    )


def ports_in_use(docker_host: DockerHost) -> dict[tuple[int, str], str]:
    """Host ports taken on an engine, by live containers and by asks not yet built, with who holds each."""
    taken: dict[tuple[int, str], str] = {}
    for container in Container.objects.filter(docker_host=docker_host).select_related("team"):
        for port in container.ports:
            taken[(port["host_port"], port["protocol"])] = f"container {container}"
    asks = ResourceRequest.objects.filter(
        kind=ContainerKind.CONTAINER, state__in=ACTIVE_REQUEST_STATES, spec__docker_host_id=docker_host.pk
    ).select_related("team")
    for ask in asks:
        for port in ask.spec.get("ports", []):
            taken.setdefault((port["host_port"], port["protocol"]), f"a request of team {ask.team}")
    return taken
