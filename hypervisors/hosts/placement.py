"""Placement: the one function that picks a host for a new VM."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum

from hypervisors.models import Host, VirtualMachine


class NoHostAvailable(ValidationError):
    """No reachable host that accepts new VMs has room for this one."""


def host_for(vm: VirtualMachine, only: Host | None = None) -> Host:
    """The reachable, non-maintenance host with room for ``vm`` and the most free memory.

    Room is the host's CPUs and memory times the configured over-commit ratios,
    minus what the VMs already placed there were given. ``only`` restricts the
    choice to one host (the one its networks are on).
    """
    candidates = Host.objects.filter(accepts_new_vms=True, is_reachable=True).exclude(domain_type="")
    if only is not None:
        candidates = candidates.filter(pk=only.pk)
    placed = {
        row["host_id"]: row
        for row in VirtualMachine.objects.filter(host__in=candidates)
        .values("host_id")
        .annotate(vcpus=Sum("vcpus"), memory=Sum("memory_mib"))
    }
    best: tuple[float, Host] | None = None
    for host in candidates:
        used = placed.get(host.pk, {"vcpus": 0, "memory": 0})
        cpu_room = (host.cpus or 0) * settings.PORTAL_CPU_OVERCOMMIT - (used["vcpus"] or 0)
        memory_room = (host.memory_mib or 0) * settings.PORTAL_MEMORY_OVERCOMMIT - (used["memory"] or 0)
        if cpu_room >= vm.vcpus and memory_room >= vm.memory_mib and (best is None or memory_room > best[0]):
            best = (memory_room, host)
    if best is None:
        raise NoHostAvailable(
            f"No reachable host has room for {vm.vcpus} vCPUs and {vm.memory_mib} MiB; ask an administrator."
        )
    return best[1]
