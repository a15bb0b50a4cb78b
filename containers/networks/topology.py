"""Pictures of container networks: which containers sit on which of their team's networks."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from containers.models import Container, DockerNetwork
from portal.topology import Link, Node


def container_network_nodes(
    networks: QuerySet[DockerNetwork], containers: QuerySet[Container]
) -> tuple[list[Node], list[Node], list[Link]]:
    """Nodes and links for these container networks and containers (three queries)."""
    network_list = list(networks.select_related("team", "docker_host"))
    container_list = list(containers.select_related("team"))
    through = DockerNetwork.containers.through.objects.filter(
        dockernetwork__in=network_list, container__in=container_list
    )
    network_nodes = [
        Node(
            key=f"d{n.pk}",
            label=str(n),
            detail=f"bridge on {n.docker_host} · {n.subnet or '—'}",
            css_class="network",
        )
        for n in network_list
    ]
    container_nodes = [
        Node(
            key=f"c{c.pk}",
            label=str(c),
            detail=f"container · {c.get_state_display()}",
            css_class="container",
            url=reverse("container-detail", args=[c.pk]),
        )
        for c in container_list
    ]
    links = [Link(network=f"d{row.dockernetwork_id}", machine=f"c{row.container_id}") for row in through]
    return network_nodes, container_nodes, links
