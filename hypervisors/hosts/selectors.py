"""Reads of hosts, for the host pages of portal administrators."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce

from hypervisors.models import Host, HostStatSample


def hosts_with_allocation() -> QuerySet[Host]:
    """Hosts with the vCPUs, memory and VM count given to the VMs on them (one query)."""
    return Host.objects.annotate(
        allocated_vcpus=Coalesce(Sum("virtual_machines__vcpus"), 0),
        allocated_memory_mib=Coalesce(Sum("virtual_machines__memory_mib"), 0),
        vm_total=Count("virtual_machines"),
    ).order_by("name")


def host_samples_since(host: Host, since: datetime) -> list[HostStatSample]:
    """A host's load samples taken since ``since``, oldest first (the reconcile writes them)."""
    return list(host.stat_samples.filter(taken_at__gte=since).order_by("taken_at"))
