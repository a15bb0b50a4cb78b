"""The storage part of the reconcile: a host's pools and volumes as rows, each volume with the VM that owns it.

Who uses a volume comes from what the reconcile reads anyway: the bulk domain statistics carry
each disk's path (shut-off domains too, on QEMU). Only a driver whose statistics lack them
(libvirt's test driver) is asked for the definitions of those domains, and only when a volume is
left that neither a path nor the portal's naming of VM disks (``<vm uuid>.qcow2``) explains.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hypervisors.choices import VolumeKind
from hypervisors.drivers import DomainStats, DriverError, HostUnreachable, HypervisorDriver, PoolStatus, VolumeStatus
from hypervisors.models import Host, StoragePool, StorageVolume, VirtualMachine

logger = logging.getLogger(__name__)

#: The name the portal gives a VM's disk (``VirtualMachine.volume_name``).
VM_VOLUME_NAME = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.qcow2$")
SEED_NAME = re.compile(r"seed|cidata|cloud-?init", re.IGNORECASE)
BACKUP_NAME = re.compile(r"backup|\.bak$|\.bkp$", re.IGNORECASE)


@dataclass(frozen=True)
class VolumeFacts:
    """Who a volume belongs to, as a row stores it."""

    owner_id: int | None
    used_by: str
    kind: str

    @property
    def orphan(self) -> bool:
        return self.owner_id is None and not self.used_by


def volume_kind(name: str, *, a_disk: bool) -> str:
    """Seed images and backups by their names; a volume a VM or domain uses is a disk; the rest is other."""
    if SEED_NAME.search(name):
        return VolumeKind.SEED
    if a_disk:
        return VolumeKind.DISK
    return VolumeKind.BACKUP if BACKUP_NAME.search(name) else VolumeKind.OTHER


@dataclass
class StorageFound:
    """A host's pools as read, and the facts of each volume by (pool name, volume name)."""

    pools: list[PoolStatus]
    facts: dict[tuple[str, str], VolumeFacts]


def storage_read(
    host: Host, driver: HypervisorDriver, domains: list[DomainStats], vm_pks: dict[str, int]
) -> StorageFound | None:
    """Read the host's pools and work out who uses each volume; None when the host has no storage to ask.

    ``vm_pks``: the host's VM rows by lower-case UUID, as the reconcile read them. Storage the host
    fails to report leaves the rows as they were (None), and the rest of the reconcile goes on; a
    host that stops answering fails the reconcile as any other read does.
    """
    try:
        return _storage_read(driver, domains, vm_pks)
    except HostUnreachable:
        raise
    except DriverError as error:
        logger.warning("Could not read the storage of host %s: %s", host, error)
        return None


def _storage_read(driver: HypervisorDriver, domains: list[DomainStats], vm_pks: dict[str, int]) -> StorageFound | None:
    pools = driver.storage_pools()
    if pools is None:
        return None
    volumes = [(pool.name, volume) for pool in pools for volume in pool.volumes or ()]
    if not volumes:
        return StorageFound(pools, {})
    names = {stats.uuid.lower(): stats.name for stats in domains}
    users = _users({stats.uuid.lower(): stats.disk_paths for stats in domains if stats.disk_paths is not None})
    user_of = [_user_of(users, pool, volume) for pool, volume in volumes]
    unexplained = [volume.name for (_pool, volume), user in zip(volumes, user_of, strict=True) if user is None]
    by_name = _vms_by_volume_name(unexplained)
    unknown = [stats.uuid.lower() for stats in domains if stats.disk_paths is None]
    if unknown and any(name not in by_name for name in unexplained):
        users.update(_users(driver.domains_disk_paths(unknown)))
        user_of = [_user_of(users, pool, volume) for pool, volume in volumes]
    facts = {}
    for (pool, volume), user in zip(volumes, user_of, strict=True):
        owner = vm_pks.get(user) if user is not None else None
        if owner is None:
            owner = by_name.get(volume.name)
        used_by = (names.get(user) or user) if user is not None else ""
        kind = volume_kind(volume.name, a_disk=owner is not None or bool(used_by))
        facts[(pool, volume.name)] = VolumeFacts(owner_id=owner, used_by=used_by, kind=kind)
    return StorageFound(pools, facts)


def _users(paths_by_domain: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Domain UUIDs by the storage paths (and ``volume:<pool>/<name>`` keys) their disks name."""
    return {path: domain for domain, paths in paths_by_domain.items() for path in paths}


def _user_of(users: dict[str, str], pool: str, volume: VolumeStatus) -> str | None:
    return users.get(volume.path) or users.get(f"volume:{pool}/{volume.name}")


def _vms_by_volume_name(names: list[str]) -> dict[str, int]:
    """VMs whose disks these volume names are by the portal's naming, on any host: one query, none if no name fits.

    Read now rather than from the reconcile's earlier read, so a VM placed meanwhile, whose volume
    exists before its domain does, is never taken for an orphan.
    """
    uuids = {match.group(1): name for name in names if (match := VM_VOLUME_NAME.match(name))}
    if not uuids:
        return {}
    return {
        f"{vm_uuid}.qcow2": pk
        for pk, vm_uuid in VirtualMachine.objects.filter(uuid__in=[uuid.UUID(u) for u in uuids]).values_list(
            "pk", "uuid"
        )
    }


POOL_FIELDS = ("capacity", "allocation", "available", "active", "volumes_digest")
VOLUME_FIELDS = ("path", "capacity", "allocation", "owner_id", "used_by", "kind", "orphan")
#: A volume's row values, in the order of VOLUME_FIELDS.
VolumeValues = list[object]


def storage_write(host: Host, found: StorageFound, now: datetime) -> None:
    """Make the host's pool and volume rows agree with ``found``; only what changed is written.

    Each pool row keeps a digest of its volumes' values as last written: a pool whose volumes read
    the same again costs nothing more, so a steady host costs one read (its pools). The volumes of
    a changed pool are compared row by row; new and changed rows go in one upsert, vanished ones
    are deleted by key (a pool's volumes with it). Whatever else writes volume rows clears the
    digest of their pool (``volumes_digest_clear``).
    """
    known = {name: (pk, values) for pk, name, *values in _pool_rows(host)}
    if not found.pools and not known:
        return  # a host without pools (a bare test driver): one read and done
    volumes = {pool.name: _volume_values(found, pool) for pool in found.pools if pool.volumes is not None}
    digests = {name: _digest(values) for name, values in volumes.items()}
    changed = []
    for pool in found.pools:
        old = known.get(pool.name)
        # The volumes of a pool that could not be listed (an inactive one) keep their rows, and their digest.
        digest = digests.get(pool.name, old[1][-1] if old else "")
        values = [pool.capacity, pool.allocation, pool.available, pool.active, digest]
        if old is None or old[1] != values:
            changed.append(
                StoragePool(host=host, name=pool.name, updated_at=now, **dict(zip(POOL_FIELDS, values, strict=True)))
            )
    StoragePool.objects.bulk_create(
        changed, update_conflicts=True, unique_fields=["host", "name"], update_fields=[*POOL_FIELDS, "updated_at"]
    )
    present = {pool.name for pool in found.pools}
    gone = [pk for name, (pk, _values) in known.items() if name not in present]
    if gone:
        StoragePool.objects.filter(pk__in=gone).delete()
    stale = [name for name in volumes if name not in known or known[name][1][-1] != digests[name]]
    if not stale:
        return
    if any(name not in known for name in stale):
        known = {name: (pk, values) for pk, name, *values in _pool_rows(host)}
    _volumes_write({known[name][0]: volumes[name] for name in stale})


def volumes_digest_clear(*, host: Host, pool: str) -> None:
    """Make the next reconcile compare this pool's volume rows one by one (a row was written elsewhere)."""
    StoragePool.objects.filter(host=host, name=pool).update(volumes_digest="")


def _pool_rows(host: Host) -> list[tuple[Any, ...]]:
    return list(StoragePool.objects.filter(host=host).order_by().values_list("pk", "name", *POOL_FIELDS))


def _volume_values(found: StorageFound, pool: PoolStatus) -> dict[str, VolumeValues]:
    values: dict[str, VolumeValues] = {}
    for volume in pool.volumes or ():
        facts = found.facts[(pool.name, volume.name)]
        values[volume.name] = [
            *(volume.path, volume.capacity, volume.allocation),
            *(facts.owner_id, facts.used_by, facts.kind, facts.orphan),
        ]
    return values


def _digest(values: dict[str, VolumeValues]) -> str:
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()


def _volumes_write(pools: dict[int, dict[str, VolumeValues]]) -> None:
    """Make the volume rows of these pools (by pool key) what ``pools`` says: upsert the changed, delete the gone."""
    known = {
        (pool_pk, name): (pk, values)
        for pk, pool_pk, name, *values in StorageVolume.objects.filter(pool_id__in=list(pools))
        .order_by()
        .values_list("pk", "pool_id", "name", *VOLUME_FIELDS)
    }
    upserts = [
        StorageVolume(pool_id=pool_pk, name=name, **dict(zip(VOLUME_FIELDS, values, strict=True)))
        for pool_pk, volumes in pools.items()
        for name, values in volumes.items()
        if known.get((pool_pk, name), (None, None))[1] != values
    ]
    StorageVolume.objects.bulk_create(
        upserts, update_conflicts=True, unique_fields=["pool", "name"], update_fields=list(VOLUME_FIELDS)
    )
    gone = [pk for (pool_pk, name), (pk, _values) in known.items() if name not in pools[pool_pk]]
    if gone:
        StorageVolume.objects.filter(pk__in=gone).delete()
