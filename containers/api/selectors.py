"""Reads the API adds on container networks, scoped like the pages."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from containers.models import Container, ContainerStatSample, DockerNetwork

AnyUser = User | AnonymousUser


def docker_networks_for(user: AnyUser) -> QuerySet[DockerNetwork]:
    """Container networks of the user's teams."""
    return DockerNetwork.objects.for_user(user).select_related("team", "docker_host").order_by("team__name", "name")


def container_samples_since(container: Container, since: datetime) -> QuerySet[ContainerStatSample]:
    """The container's load samples from ``since`` on, oldest first."""
    return container.stat_samples.filter(taken_at__gte=since).order_by("taken_at")
