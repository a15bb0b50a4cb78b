"""Amounts of quota resources: what a team may hold, holds, or asks for.

A value type of its own so that the kind registry and the quota arithmetic can
both use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal


@dataclass(frozen=True)
class Amounts:
    """An amount of every quota resource; used for limits, usage and demands alike."""

    vcpus: Decimal = Decimal("0")
    memory_mib: int = 0
    disk_gib: int = 0
    vm_count: int = 0
    container_count: int = 0
    network_count: int = 0
    snapshot_count: int = 0

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def get(self, resource: str) -> Decimal | int:
        """The amount of one resource by its field name."""
        value: Decimal | int = getattr(self, resource)
        return value


@dataclass(frozen=True)
class Resource:
    """How a quota resource is named and shown."""

    field: str
    label: str
    unit: str


RESOURCES = (
    Resource("vcpus", "vCPUs", ""),
    Resource("memory_mib", "Memory", "MiB"),
    Resource("disk_gib", "Disk", "GiB"),
    Resource("vm_count", "Virtual machines", ""),
    Resource("container_count", "Containers", ""),
    Resource("network_count", "Networks", ""),
    Resource("snapshot_count", "Snapshots", ""),
)
