"""The networks page: each of the user's teams with its VM and container networks, drawn and listed.

Composed from both apps' rows; nothing here talks to a host or an engine.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from containers.models import DockerNetwork
from containers.selectors import containers_for
from containers.topology import container_network_nodes
from hypervisors.network_services import networks_usable_by
from hypervisors.selectors import vms_for
from hypervisors.topology import vm_network_nodes
from portal.choices import ROLE_RANK, Role
from portal.models import Membership
from portal.selectors import teams_for
from portal.topology import topology_svg


class NetworkOverviewView(LoginRequiredMixin, TemplateView):
    """Per team: a picture of who sits on which network, and the networks with their state and range."""

    template_name = "portal/networks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        roles = dict(Membership.objects.filter(user_id=int(user.pk or 0)).values_list("team_id", "role"))
        sections = []
        for team in teams_for(user):
            vm_networks = networks_usable_by(team)
            docker_networks = DockerNetwork.objects.filter(team=team).select_related("docker_host", "team")
            nets, vms, vm_links = vm_network_nodes(vm_networks, vms_for(user).filter(team=team))
            dnets, containers, container_links = container_network_nodes(
                docker_networks, containers_for(user).filter(team=team)
            )
            role = Role.TEAM_ADMIN if getattr(user, "is_superuser", False) else roles.get(team.pk)
            sections.append(
                {
                    "team": team,
                    "svg": topology_svg([*nets, *dnets], [*vms, *containers], [*vm_links, *container_links])
                    if nets or dnets
                    else "",
                    "vm_networks": list(vm_networks),
                    "docker_networks": list(docker_networks),
                    "is_team_admin": role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.TEAM_ADMIN],
                }
            )
        context["sections"] = sections
        return context
