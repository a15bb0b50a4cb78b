"""Team container networks as a kind of resource in the request pipeline, and their provisioning."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from containers.choices import DockerNetworkState
from containers.drivers import EngineError, EngineUnreachable
from containers.models import DockerHost, DockerNetwork
from containers.services import engine_of
from portal.choices import JobAction, RequestState, ResourceKind
from portal.jobs import job_step
from portal.kinds import KindHandler
from portal.models import Job, ResourceRequest, Team
from portal.provisioning import Builder, provision_run
from portal.quotas import Amounts

logger = logging.getLogger(__name__)


def docker_network_live_usage(team_ids: Sequence[int]) -> dict[int, Amounts]:
    """Container networks a team holds outside an active request: one grouped query."""
    rows = (
        DockerNetwork.objects.filter(team_id__in=team_ids)
        .filter(Q(request__isnull=True) | Q(request__state=RequestState.FULFILLED))
        .values("team_id")
        .annotate(count=Count("id"))
    )
    return {row["team_id"]: Amounts(network_count=row["count"]) for row in rows}


def docker_network_name_in_use(team: Team, name: str) -> bool:
    return DockerNetwork.objects.filter(team=team, name=name).exists()


def docker_network_create_from_request(request: ResourceRequest) -> DockerNetwork:
    """The network row an approved request builds on the engine it names."""
    docker_host = DockerHost.objects.filter(pk=request.spec.get("docker_host_id")).first()
    if docker_host is None:
        raise ValidationError("The Docker host of this request no longer exists.")
    return DockerNetwork.objects.create(team=request.team, docker_host=docker_host, request=request, name=request.name)


def docker_network_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Create the container network of a provisioning job."""
    provision_run(DOCKER_NETWORK_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> DockerNetwork | None:
    return DockerNetwork.objects.select_related("team", "docker_host").filter(request_id=job.request_id).first()


def _build(job: Job, network: DockerNetwork) -> str:
    job_step(job, f"Creating bridge network {network.engine_name} on {network.docker_host}", 50)
    with engine_of(network.docker_host) as engine:
        created = engine.network_create(
            name=network.engine_name, labels={"portal.team": network.team.slug, "portal.name": network.name}
        )
    network.engine_id, network.subnet, network.state = created.engine_id, created.subnet, DockerNetworkState.ACTIVE
    network.save(update_fields=["engine_id", "subnet", "state"])
    return f"Network {network.engine_name} is ready ({network.subnet or 'subnet chosen by the engine'})"


def _cleanup(job: Job, network: DockerNetwork) -> None:
    job_step(job, "Removing what was built", job.progress)
    try:
        with engine_of(network.docker_host) as engine:
            engine.network_remove(network.engine_id or network.engine_name)
    except EngineError as error:
        logger.error("Cleanup of container network %s failed: %s", network, error)
    network.delete()


DOCKER_NETWORK_BUILDER = Builder(load=_load, build=_build, cleanup=_cleanup, unreachable=(EngineUnreachable,))

DOCKER_NETWORK_KIND = KindHandler(
    kind=ResourceKind.CONTAINER_NETWORK,
    count_field="network_count",
    live_usage=docker_network_live_usage,
    name_in_use=docker_network_name_in_use,
    resource_create=docker_network_create_from_request,
    provision_action=JobAction.CONTAINER_NETWORK_PROVISION,
    provision_task="containers.tasks.docker_network_provision",
)
