"""Team container networks as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from containers.choices import ContainerKind, ContainerNetworkJobAction
from containers.models import DockerHost, DockerNetwork
from portal.kinds import KindHandler
from portal.models import ResourceRequest


def docker_network_create_from_request(request: ResourceRequest) -> DockerNetwork:
    """The network row an approved request builds on the engine it names."""
    docker_host = DockerHost.objects.filter(pk=request.spec.get("docker_host_id")).first()
    if docker_host is None:
        raise ValidationError("The Docker host of this request no longer exists.")
    return DockerNetwork.objects.create(team=request.team, docker_host=docker_host, request=request, name=request.name)


DOCKER_NETWORK_KIND = KindHandler(
    kind=ContainerKind.CONTAINER_NETWORK,
    label=ContainerKind.CONTAINER_NETWORK.label,
    model=DockerNetwork,
    count_field="network_count",
    sizes={},
    resource_create=docker_network_create_from_request,
    provision_action=ContainerNetworkJobAction.CONTAINER_NETWORK_PROVISION,
    provision_task="containers.tasks.docker_network_provision",
    resource_url=lambda network: reverse("networks") + f"#container-network-{network.pk}",
    job_actions=dict(ContainerNetworkJobAction.choices),
    uncounted=Q(is_team_default=True),
)
