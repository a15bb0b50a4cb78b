"""Containers as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse

from containers.choices import ContainerJobAction, ContainerKind
from containers.containers.leases import container_lease_delete, container_lease_stop
from containers.models import Container, ContainerImage, DockerHost
from containers.secrets import environment_seal_plain
from portal.kinds import KindHandler
from portal.models import ResourceRequest


def container_create_from_request(request: ResourceRequest) -> Container:
    """The container row an approved request will create; its page shows the job's progress at once."""
    spec = request.spec
    if not DockerHost.objects.filter(pk=spec["docker_host_id"], accepts_new_containers=True).exists():
        raise ValidationError("The Docker host of this request takes no new containers now (maintenance).")
    return Container.objects.create(
        team=request.team,
        owner=request.requested_by,
        request=request,
        docker_host_id=spec["docker_host_id"],
        image_id=spec["image_id"],
        name=request.name,
        command=spec.get("command", []),
        environment=environment_seal_plain(spec.get("environment", {})),
        ports=spec.get("ports", []),
        cpus=request.vcpus,
        memory_mib=request.memory_mib,
        restart_policy=spec.get("restart_policy", "no"),
    )


CONTAINER_KIND = KindHandler(
    kind=ContainerKind.CONTAINER,
    label=ContainerKind.CONTAINER.label,
    model=Container,
    count_field="container_count",
    sizes={"vcpus": "cpus", "memory_mib": "memory_mib"},
    resource_create=container_create_from_request,
    provision_action=ContainerJobAction.CONTAINER_PROVISION,
    provision_task="containers.tasks.container_provision",
    resource_url=lambda container: reverse("container-detail", args=[container.pk]),
    job_actions=dict(ContainerJobAction.choices),
    status_template="containers/_container_status.html",
    image_model=ContainerImage,
    lease_stop=container_lease_stop,
    lease_delete=container_lease_delete,
)
