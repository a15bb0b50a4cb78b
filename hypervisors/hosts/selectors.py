"""Reads of hosts and their storage, for the host pages of portal administrators, of a team's volumes,
and what each top page may show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from hypervisors.models import Host, HostStatSample, StoragePool, StorageVolume, UnmanagedDomain, VirtualMachine
from portal.selectors import teams_for

AnyUser = User | AnonymousUser


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


@dataclass(frozen=True)
class TopScope:
    """What a top page may show: the hosts to read ({id: URI}) and the domains to keep (None: all of them)."""

    hosts: dict[int, str]
    uuids: frozenset[str] | None


def host_top_scope(user: AnyUser, host_id: int) -> TopScope | None:
    """A host's top for portal administrators; None for anyone else or no such host.

    As on the host's page, names are shown only to whom may see them: every domain with the permissions
    to view VMs and unmanaged domains, else only the VMs of their own teams (and the unmanaged ones if allowed).
    """
    if not (user.is_authenticated and user.is_staff):
        return None
    uri = Host.objects.filter(pk=host_id).values_list("uri", flat=True).first()
    if uri is None:
        return None
    all_vms = user.has_perm("hypervisors.view_virtualmachine")
    unmanaged = user.has_perm("hypervisors.view_unmanageddomain")
    if all_vms and unmanaged:
        return TopScope(hosts={host_id: uri}, uuids=None)
    vms = VirtualMachine.objects.filter(host_id=host_id)
    if not all_vms:
        vms = vms.filter(team__in=teams_for(user))
    uuids = {str(uuid).lower() for uuid in vms.values_list("uuid", flat=True)}
    if unmanaged:
        uuids |= {
            str(uuid).lower() for uuid in UnmanagedDomain.objects.filter(host_id=host_id).values_list("uuid", flat=True)
        }
    return TopScope(hosts={host_id: uri}, uuids=frozenset(uuids))


def team_top_scope(user: AnyUser, slug: str) -> TopScope | None:
    """A team's top for those who see the team (viewers included): its VMs' domains on the hosts
    that run them; None when the user does not see that team."""
    team = teams_for(user).filter(slug=slug).first()
    if team is None:
        return None
    vms = VirtualMachine.objects.filter(team=team, host__isnull=False).values_list("uuid", "host_id", "host__uri")
    hosts: dict[int, str] = {}
    uuids: set[str] = set()
    for uuid, host_id, uri in vms:
        hosts[host_id] = uri
        uuids.add(str(uuid).lower())
    return TopScope(hosts=hosts, uuids=frozenset(uuids))


def host_get(host_id: int) -> Host:
    """One host, or 404 (the caller checked that the user may see hosts)."""
    return get_object_or_404(Host, pk=host_id)


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
