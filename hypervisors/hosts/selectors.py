"""Reads of hosts and their storage, for the host pages of portal administrators, and of a team's volumes."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce

from hypervisors.models import Host, HostStatSample, StoragePool, StorageVolume


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


def storage_pools_with_volumes() -> QuerySet[StoragePool]:
    """Every pool of every host with its volumes and their owner VMs (three queries whatever the count).

    For administrators only: it names every team's volumes and the orphans.
    """
    volumes = StorageVolume.objects.select_related("owner__team").order_by("-orphan", "name")
    return StoragePool.objects.select_related("host").prefetch_related(Prefetch("volumes", queryset=volumes))


def host_storage_pools(host: Host) -> list[StoragePool]:
    """A host's pools as the reconcile last read them, for its page."""
    return list(host.storage_pools.order_by("name"))


def storage_volume_get(volume_id: int) -> StorageVolume:
    """One volume with its pool and host, for the administrators' delete confirmation."""
    return StorageVolume.objects.select_related("pool__host", "owner__team").get(pk=volume_id)


def team_volumes_for(user: User | AnonymousUser) -> QuerySet[StorageVolume]:
    """The volumes of the VMs of the user's teams (never another team's, never an orphan)."""
    return (
        StorageVolume.objects.for_user(user)
        .filter(owner__isnull=False)
        .select_related("pool", "owner__team")
        .order_by("owner__team__name", "owner__name", "name")
    )
