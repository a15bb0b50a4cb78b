"""Placement and host capacity: the one function that measures a host's room, used to place and to resize,
and the storage check that keeps a host's pool below its fill limit.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum

from hypervisors.models import Host, StoragePool, VirtualMachine

GIB = 1024**3


class NoHostAvailable(ValidationError):
    """No reachable host that accepts new VMs has room for this one."""

    #: Why hosts with room for the VM's CPUs and memory were refused for its disk, one line each.
    storage_refusals: tuple[str, ...] = ()


class HostFull(ValidationError):
    """A VM's host has no room for it to grow."""


def _placed(hosts: list[Host]) -> dict[int, dict[str, int]]:
    """vCPUs and memory the VMs placed on these hosts were given, by host: one grouped query."""
    return {
        row["host_id"]: row
        for row in VirtualMachine.objects.filter(host__in=hosts)
        .values("host_id")
        .annotate(vcpus=Sum("vcpus"), memory=Sum("memory_mib"))
    }


def host_room(host: Host, placed: dict[str, int] | None = None) -> tuple[float, float]:
    """The vCPUs and MiB of memory still free on a host.

    Room is the host's CPUs and memory times the configured over-commit ratios,
    minus what the VMs already placed there were given. ``placed`` is that
    usage when the caller read it already.
    """
    if placed is None:
        placed = _placed([host]).get(host.pk)
    used = placed or {"vcpus": 0, "memory": 0}
    cpu_room = (host.cpus or 0) * settings.PORTAL_CPU_OVERCOMMIT - (used["vcpus"] or 0)
    memory_room = (host.memory_mib or 0) * settings.PORTAL_MEMORY_OVERCOMMIT - (used["memory"] or 0)
    return cpu_room, memory_room


def _pools(hosts: list[Host]) -> dict[int, StoragePool]:
    """The pool each host puts VM disks in, as the reconcile last read it: one query."""
    wanted = {(host.pk, host.storage_pool) for host in hosts}
    return {
        pool.host_id: pool
        for pool in StoragePool.objects.filter(host__in=hosts, name__in={host.storage_pool for host in hosts})
        if (pool.host_id, pool.name) in wanted
    }


def pool_fill_refusal(host: Host, pool: StoragePool | None, disk_gib: int) -> str:
    """Why a new disk of ``disk_gib`` may not go into this pool (empty when it may).

    A disk counts at its full size, though it starts thin: it may grow to it. A pool the reconcile
    has not read yet (or of unknown size) refuses nothing.
    """
    if pool is None or not pool.capacity:
        return ""
    limit = settings.PORTAL_POOL_FILL_LIMIT
    fill = (pool.allocation + disk_gib * GIB) / pool.capacity
    if fill <= limit:
        return ""
    return (
        f"pool {pool.name} on host {host.name} would be {fill:.0%} full with a {disk_gib} GiB disk (limit {limit:.0%})"
    )


def host_for(vm: VirtualMachine, only: Host | None = None) -> Host:
    """The reachable, non-maintenance host with room for ``vm`` and the most free memory.

    ``only`` restricts the choice to one host (the one its networks are on). A host whose pool would
    pass ``PORTAL_POOL_FILL_LIMIT`` with the VM's disk is refused; the error says so.
    """
    candidates = Host.objects.filter(accepts_new_vms=True, is_reachable=True).exclude(domain_type="")
    if only is not None:
        candidates = candidates.filter(pk=only.pk)
    hosts = list(candidates)
    placed = _placed(hosts)
    pools = _pools(hosts)
    best: tuple[float, Host] | None = None
    refusals = []
    for host in hosts:
        cpu_room, memory_room = host_room(host, placed.get(host.pk, {"vcpus": 0, "memory": 0}))
        if cpu_room < vm.vcpus or memory_room < vm.memory_mib or (best is not None and memory_room <= best[0]):
            continue
        refusal = pool_fill_refusal(host, pools.get(host.pk), vm.disk_gib)
        if refusal:
            refusals.append(refusal)
            continue
        best = (memory_room, host)
    if best is None:
        disk = f" and a {vm.disk_gib} GiB disk" if refusals else ""
        storage = f" Refused: {'; '.join(refusals)}." if refusals else ""
        error = NoHostAvailable(
            f"No reachable host has room for {vm.vcpus} vCPUs and {vm.memory_mib} MiB{disk}; "
            f"ask an administrator.{storage}"
        )
        error.storage_refusals = tuple(refusals)
        raise error
    return best[1]


def host_growth_check(*, host_id: int, vcpus: int, memory_mib: int) -> None:
    """Raise :class:`HostFull` unless a VM on this host may grow by ``vcpus`` and ``memory_mib``.

    Locks the host row for the rest of the transaction, so two resizes on one
    host serialize and cannot both take its last room.
    """
    host = Host.objects.select_for_update().get(pk=host_id)
    cpu_room, memory_room = host_room(host)
    if (vcpus > 0 and vcpus > cpu_room) or (memory_mib > 0 and memory_mib > memory_room):
        free_cpus = max(0, int(cpu_room))
        free_memory = max(0, int(memory_room))
        raise HostFull(
            f"Host {host.name} has room for only {free_cpus} more vCPUs and {free_memory} MiB "
            f"(over-commit included); this resize needs {vcpus} more vCPUs and {memory_mib} MiB more. "
            "Ask for less, or ask an administrator to move the VM."
        )
