"""Host pages for portal administrators: capacity, load, and what runs where."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import UserPassesTestMixin
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from hypervisors.graphs import host_series, svg_graphs
from hypervisors.hosts.selectors import hosts_with_allocation
from hypervisors.models import Host
from hypervisors.networks.topology import vm_network_nodes
from portal.topology import topology_svg

GRAPH_WINDOW = timedelta(hours=1)


def host_capacity(host: Host) -> tuple[float, float]:
    """vCPUs and memory (MiB) the host may give out, over-commit ratios included."""
    return (
        (host.cpus or 0) * settings.PORTAL_CPU_OVERCOMMIT,
        (host.memory_mib or 0) * settings.PORTAL_MEMORY_OVERCOMMIT,
    )


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
        samples = list(host.stat_samples.filter(taken_at__gte=now - GRAPH_WINDOW - timedelta(minutes=5)))
        context.update(
            host=host,
            graphs=svg_graphs(host_series(samples), now, GRAPH_WINDOW),
            vms=host.virtual_machines.select_related("team").order_by("team__name", "name")[:200],
            unmanaged=host.unmanaged_domains.all(),
            topology=topology_svg(
                *vm_network_nodes(host.networks.all(), host.virtual_machines.all(), host_default=host.network)
            ),
            cpu_capacity=host_capacity(host)[0],
            memory_capacity=host_capacity(host)[1],
        )
        return context
