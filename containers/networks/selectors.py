"""Reads of container networks, scoped to the user's teams."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from containers.choices import DockerNetworkState
from containers.models import Container, DockerNetwork
from portal.models import Team

AnyUser = User | AnonymousUser


def docker_network_get(user: AnyUser, network_id: int) -> DockerNetwork:
    """A container network of one of the user's teams, or 404."""
    return get_object_or_404(DockerNetwork.objects.for_user(user), pk=network_id)


def networks_of_team(team: Team) -> QuerySet[DockerNetwork]:
    """A team's own container networks, with what lists show."""
    return DockerNetwork.objects.filter(team=team).select_related("docker_host", "team")


def networks_joinable_by(container: Container) -> QuerySet[DockerNetwork]:
    """Active networks of the container's team on its engine that it is not on yet."""
    return DockerNetwork.objects.filter(
        team_id=container.team_id, docker_host_id=container.docker_host_id, state=DockerNetworkState.ACTIVE
    ).exclude(containers=container)
