"""Host pages for portal administrators: capacity, load, and what runs where.

Capacity and load are for every staff user; the names of other teams' VMs and
networks only for those whose model permissions let them view those rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from hypervisors.graphs import host_series, svg_graphs
from hypervisors.hosts.pool_panels import pool_panels
from hypervisors.hosts.selectors import host_storage_pools, hosts_with_allocation
from hypervisors.models import Host, UnmanagedDomain, VirtualMachine, VirtualNetwork
from hypervisors.networks.topology import vm_network_nodes
from portal.selectors import teams_for
from portal.topology import topology_svg

GRAPH_WINDOW = timedelta(hours=1)


def host_capacity(host: Host) -> tuple[float, float]:
    """vCPUs and memory (MiB) the host may give out, over-commit ratios included."""
    return (
        (host.cpus or 0) * settings.PORTAL_CPU_OVERCOMMIT,
        (host.memory_mib or 0) * settings.PORTAL_MEMORY_OVERCOMMIT,
    )


def host_vms_visible(user: User | AnonymousUser, host: Host) -> QuerySet[VirtualMachine]:
    """The host's VMs this user may see by name: all with the view permission, else only their teams' own."""
    vms = host.virtual_machines.all()
    return vms if user.has_perm("hypervisors.view_virtualmachine") else vms.filter(team__in=teams_for(user))


def host_networks_visible(user: User | AnonymousUser, host: Host) -> QuerySet[VirtualNetwork]:
    """The host's networks this user may see by name: all with the view permission, else shared and their teams'."""
    networks = host.networks.all()
    if user.has_perm("hypervisors.view_virtualnetwork"):
        return networks
    return networks.filter(Q(team__isnull=True) | Q(team__in=teams_for(user)))


def host_unmanaged_visible(user: User | AnonymousUser, host: Host) -> QuerySet[UnmanagedDomain]:
    """Domains nobody manages carry whatever names their creators gave them: shown to those who may adopt them."""
    domains = host.unmanaged_domains.all()
    return domains if user.has_perm("hypervisors.view_unmanageddomain") else domains.none()


class StaffOnlyMixin(UserPassesTestMixin):
    """Host pages show every team's VMs: portal administrators only."""

    # Anonymous people go to the login page; logged-in non-staff get 403.
    raise_exception = False

    def test_func(self) -> bool:
        user = self.request.user  # type: ignore[attr-defined]
        return bool(user.is_authenticated and user.is_staff)


class HostListView(StaffOnlyMixin, TemplateView):
    """Every host with its state and the capacity used and free."""

    template_name = "hypervisors/host_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        hosts = list(hosts_with_allocation())
        for host in hosts:
            host.cpu_capacity, host.memory_capacity = host_capacity(host)  # type: ignore[attr-defined]
        context["hosts"] = hosts
        return context


class HostDetailView(StaffOnlyMixin, TemplateView):
    """One host: facts, capacity, the last hour's load, its VMs and unmanaged domains."""

    template_name = "hypervisors/host_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        host = get_object_or_404(hosts_with_allocation(), pk=kwargs["pk"])
        now = timezone.now()
        user = self.request.user
        vms = host_vms_visible(user, host)
        samples = list(host.stat_samples.filter(taken_at__gte=now - GRAPH_WINDOW - timedelta(minutes=5)))
        context.update(
            host=host,
            graphs=svg_graphs(host_series(samples), now, GRAPH_WINDOW),
            vms=vms.select_related("team").order_by("team__name", "name")[:200],
            unmanaged=host_unmanaged_visible(user, host),
            topology=topology_svg(*vm_network_nodes(host_networks_visible(user, host), vms, host_default=host.network)),
            cpu_capacity=host_capacity(host)[0],
            memory_capacity=host_capacity(host)[1],
            pools=pool_panels(host_storage_pools(host)),
            warn_percent=round(settings.PORTAL_POOL_FILL_WARN * 100),
        )
        return context
