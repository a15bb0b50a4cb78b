"""Pages that look across every app: the dashboard, and the networks of each team drawn and listed.

Composed from every app's rows; nothing here talks to a host or an engine.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from containers.containers.selectors import containers_for
from containers.networks.selectors import networks_of_team
from containers.networks.topology import container_network_nodes
from hypervisors.networks.selectors import networks_usable_by
from hypervisors.networks.topology import vm_network_nodes
from hypervisors.vms.selectors import vms_for
from portal.choices import Role
from portal.kinds import request_resources_related
from portal.permissions import role_at_least
from portal.quotas import quota_bars, teams_usage
from portal.selectors import jobs_for, requests_for, roles_of, teams_for
from portal.topology import topology_svg

#: How many rows of each kind the dashboard shows.
DASHBOARD_ROWS = 10


class DashboardView(LoginRequiredMixin, TemplateView):
    """The user's teams with their quota bars, and their latest VMs, requests and jobs."""

    template_name = "overview/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        teams = list(teams_for(user).select_related("quota"))
        usage = teams_usage(teams)
        context["teams"] = [(team, quota_bars(usage[team.pk])) for team in teams]
        context["vms"] = vms_for(user).order_by("-created_at")[:DASHBOARD_ROWS]
        context["containers"] = containers_for(user).order_by("-created_at")[:DASHBOARD_ROWS]
        context["requests"] = requests_for(user).select_related(*request_resources_related())[:DASHBOARD_ROWS]
        context["jobs"] = jobs_for(user)[:DASHBOARD_ROWS]
        return context


class NetworkOverviewView(LoginRequiredMixin, TemplateView):
    """Per team: a picture of who sits on which network, and the networks with their state and range."""

    template_name = "overview/networks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        roles = roles_of(user)
        sections = []
        for team in teams_for(user):
            vm_networks = networks_usable_by(team)
            docker_networks = networks_of_team(team)
            nets, vms, vm_links = vm_network_nodes(vm_networks, vms_for(user).filter(team=team))
            dnets, containers, container_links = container_network_nodes(
                docker_networks, containers_for(user).filter(team=team)
            )
            role = roles.get(team.pk)
            sections.append(
                {
                    "team": team,
                    "svg": topology_svg([*nets, *dnets], [*vms, *containers], [*vm_links, *container_links])
                    if nets or dnets
                    else "",
                    "vm_networks": list(vm_networks),
                    "docker_networks": list(docker_networks),
                    "is_team_admin": role_at_least(role, Role.TEAM_ADMIN),
                }
            )
        context["sections"] = sections
        return context
