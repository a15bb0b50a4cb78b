"""Container rows as approval and the worker leave them, for pages and services that never reach an engine."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from containers.choices import ContainerJobAction, ContainerKind
from containers.models import Container, ContainerImage, DockerHost
from portal.choices import JobState, RequestState
from portal.jobs import job_create
from portal.models import Job, Team
from tests.factories import ResourceRequestFactory


def random_pk() -> int:
    """A container pk no other test run uses at the same time (their output shares Redis)."""
    return random.randint(10**8, 2 * 10**9)


def image_row(docker_host: DockerHost, reference: str, *teams: Team, present: bool = True) -> ContainerImage:
    """An image row on an engine, offered to these teams."""
    image = ContainerImage.objects.create(
        docker_host=docker_host, reference=reference, image_id=f"sha256:{reference}", present=present
    )
    image.offered_to.add(*teams)
    return image


def make_container(
    team: Team,
    owner: Any,
    *,
    docker_host: DockerHost,
    image: ContainerImage,
    name: str,
    state: str = "running",
    ports: list[dict[str, Any]] | None = None,
    job_state: str = JobState.SUCCEEDED,
    cpus: str = "0.5",
    memory_mib: int = 64,
) -> Container:
    """A container built through a request, with its provisioning job, as approval and the worker leave them."""
    request = ResourceRequestFactory(
        team=team,
        requested_by=owner,
        kind=ContainerKind.CONTAINER,
        name=name,
        vcpus=Decimal(cpus),
        memory_mib=memory_mib,
        disk_gib=0,
        state=RequestState.FULFILLED,
        spec={"docker_host_id": docker_host.pk, "image_id": image.pk, "ports": ports or []},
    )
    container = Container.objects.create(
        pk=random_pk(),
        team=team,
        owner=owner,
        request=request,
        docker_host=docker_host,
        image=image,
        name=name,
        ports=ports or [],
        cpus=Decimal(cpus),
        memory_mib=memory_mib,
        engine_id=f"{name}-engine-id",
        state=state,
    )
    job = job_create(
        action=ContainerJobAction.CONTAINER_PROVISION, team=team, requested_by=owner, target=container, request=request
    )
    Job.objects.filter(pk=job.pk).update(state=job_state)
    return container
