"""Containers as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum

from containers.models import Container, DockerHost
from containers.secrets import environment_seal_plain
from portal.choices import JobAction, RequestState, ResourceKind
from portal.kinds import KindHandler
from portal.models import ResourceRequest, Team
from portal.quotas import Amounts


def container_live_usage(team_ids: Sequence[int]) -> dict[int, Amounts]:
    """Usage of containers not counted through an active request: one grouped query."""
    rows = (
        Container.objects.filter(team_id__in=team_ids)
        .filter(Q(request__isnull=True) | Q(request__state=RequestState.FULFILLED))
        .values("team_id")
        .annotate(cpus=Sum("cpus"), memory=Sum("memory_mib"), count=Count("id"))
    )
    return {
        row["team_id"]: Amounts(
            vcpus=row["cpus"] or Decimal("0"), memory_mib=row["memory"] or 0, container_count=row["count"]
        )
        for row in rows
    }


def container_name_in_use(team: Team, name: str) -> bool:
    """Whether the team already has a container with this name."""
    return Container.objects.filter(team=team, name=name).exists()


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
    kind=ResourceKind.CONTAINER,
    count_field="container_count",
    live_usage=container_live_usage,
    name_in_use=container_name_in_use,
    resource_create=container_create_from_request,
    provision_action=JobAction.CONTAINER_PROVISION,
    provision_task="containers.tasks.container_provision",
)
