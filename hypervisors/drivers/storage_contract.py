"""The storage part of the driver contract: reading a host's pools and volumes in bulk, and the
guarded delete of a volume no domain uses.

Kept apart from ``base.py`` so each half of the contract reads on one screen; ``HypervisorDriver``
inherits it, so every driver implements both.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from dataclasses import dataclass


class VolumeInUse(Exception):
    """A domain on the host uses the volume (as a disk or a disk's backing file): it is not deleted."""


@dataclass(frozen=True)
class VolumeStatus:
    """One volume of a pool as the host sees it; sizes in bytes."""

    name: str
    path: str
    capacity: int
    allocation: int


@dataclass(frozen=True)
class PoolStatus:
    """One storage pool with its volumes; sizes in bytes. ``volumes`` is None when they could not be
    read (an inactive pool), which says nothing about whether they are there."""

    name: str
    capacity: int
    allocation: int
    available: int
    active: bool
    volumes: tuple[VolumeStatus, ...] | None = None


class StorageInventory(abc.ABC):
    """Storage methods of the contract (see ``hypervisors.drivers.base.HypervisorDriver``)."""

    @abc.abstractmethod
    def storage_pools(self) -> list[PoolStatus] | None:
        """Every pool of the host with its volumes: one listing of pools, one of each active pool's
        volumes. Read only. A pool whose volumes cannot be read has ``volumes`` None; the result is None when
        the host has no storage pools to ask (a driver without storage). Raises ``HostUnreachable``."""

    @abc.abstractmethod
    def domains_disk_paths(self, uuids: Collection[str] | None = None) -> dict[str, tuple[str, ...]]:
        """Storage each domain uses, by lower-case UUID, from its definition: disk sources (files,
        block devices, ``volume:<pool>/<name>`` for pool volumes) and their backing files, of the
        running and the next-boot definition. ``uuids`` limits the read to those domains (one call
        each); None reads every domain. Read only. Raises ``HostUnreachable``."""

    @abc.abstractmethod
    def volume_delete_unused(self, *, pool: str, name: str) -> bool:
        """Delete a volume unless a domain of the host uses it (read again right before deleting).

        Returns False when the volume (or its pool) is already gone: success, for a redelivered job.
        Raises ``VolumeInUse`` when a domain uses it, ``DriverError`` otherwise.
        """
