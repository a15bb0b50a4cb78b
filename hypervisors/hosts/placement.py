"""Placement and host capacity: the one function that measures a host's room, used to place and to resize."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum

from hypervisors.models import Host, VirtualMachine


class NoHostAvailable(ValidationError):
    """No reachable host that accepts new VMs has room for this one."""


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


def host_for(vm: VirtualMachine, only: Host | None = None) -> Host:
    """The reachable, non-maintenance host with room for ``vm`` and the most free memory.

    ``only`` restricts the choice to one host (the one its networks are on).
    """
    candidates = Host.objects.filter(accepts_new_vms=True, is_reachable=True).exclude(domain_type="")
    if only is not None:
        candidates = candidates.filter(pk=only.pk)
    hosts = list(candidates)
    placed = _placed(hosts)
    best: tuple[float, Host] | None = None
    for host in hosts:
        cpu_room, memory_room = host_room(host, placed.get(host.pk, {"vcpus": 0, "memory": 0}))
        if cpu_room >= vm.vcpus and memory_room >= vm.memory_mib and (best is None or memory_room > best[0]):
            best = (memory_room, host)
    if best is None:
        raise NoHostAvailable(
            f"No reachable host has room for {vm.vcpus} vCPUs and {vm.memory_mib} MiB; ask an administrator."
        )
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
