"""Forms about container networks: asking for one, and connecting a container to one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from containers.choices import ContainerKind
from containers.models import DockerHost
from portal.forms import ResourceRequestForm


class ContainerNetworkRequestForm(ResourceRequestForm):
    """Ask for a team's own bridge network on an engine."""

    kind = ContainerKind.CONTAINER_NETWORK

    docker_host = forms.ModelChoiceField(
        queryset=DockerHost.objects.filter(accepts_new_containers=True), empty_label=None, label="Docker host"
    )
    field_order = ("name", "team", "docker_host", "justification")

    def sizes(self, data: dict[str, Any]) -> tuple[Decimal | int, int, int]:
        return 0, 0, 0

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"docker_host_id": data["docker_host"].pk}
