"""Reads the API adds on container networks, scoped like the pages."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from containers.models import DockerNetwork

AnyUser = User | AnonymousUser


def docker_networks_for(user: AnyUser) -> QuerySet[DockerNetwork]:
    """Container networks of the user's teams."""
    return DockerNetwork.objects.for_user(user).select_related("team", "docker_host").order_by("team__name", "name")
