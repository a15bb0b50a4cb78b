"""The libvirt driver's storage inventory: every pool and volume of a host in one pass, the storage
each domain's definition names, and the delete of a volume no domain uses (contract in
``storage_contract.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import libvirt

from hypervisors.drivers.base import HostUnreachable
from hypervisors.drivers.domain_xml import domain_storage_paths, volume_backing_path
from hypervisors.drivers.libvirt_common import error_translate, translate_errors
from hypervisors.drivers.storage_contract import PoolStatus, VolumeInUse, VolumeStatus

logger = logging.getLogger(__name__)


#: The largest byte count a row holds (a signed 64-bit integer); libvirt's are unsigned.
BYTES_MAX = 2**63 - 1


def _bytes(value: int) -> int:
    """A libvirt size as a row holds it. Past the signed 64-bit range it is a negative that wrapped
    around (the "available" of an over-allocated pool), so nothing; no real pool is 8 EiB."""
    return int(value) if 0 <= value <= BYTES_MAX else 0


def _unreachable(error: libvirt.libvirtError) -> bool:
    return isinstance(error_translate(error), HostUnreachable)


class LibvirtStorage:
    """Storage inventory methods of :class:`hypervisors.drivers.libvirt_driver.LibvirtDriver`."""

    @property
    def conn(self) -> libvirt.virConnect:
        raise NotImplementedError

    def _pool(self, name: str) -> libvirt.virStoragePool | None:
        raise NotImplementedError

    @translate_errors
    def storage_pools(self) -> list[PoolStatus] | None:
        try:
            pools = self.conn.listAllStoragePools(0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                return None
            raise
        return [self._pool_status(pool) for pool in pools]

    def _pool_status(self, pool: libvirt.virStoragePool) -> PoolStatus:
        # The figures libvirt keeps for the pool (what ``virsh pool-info`` prints); no refresh, which
        # would rescan every file of the pool on every reconcile and fails while a volume is built.
        state, capacity, allocation, available = pool.info()
        active = state == libvirt.VIR_STORAGE_POOL_RUNNING
        volumes: tuple[VolumeStatus, ...] | None = None
        if active:
            try:
                listed = pool.listAllVolumes(0)
            except libvirt.libvirtError as error:
                if _unreachable(error):
                    raise
                logger.info("Could not list the volumes of pool %s: %s", pool.name(), error)
            else:
                volumes = tuple(status for volume in listed if (status := self._volume_status(volume)) is not None)
        return PoolStatus(
            name=pool.name(),
            capacity=_bytes(capacity),
            allocation=_bytes(allocation),
            available=_bytes(available),
            active=active,
            volumes=volumes,
        )

    @staticmethod
    def _volume_status(volume: libvirt.virStorageVol) -> VolumeStatus | None:
        """A volume's figures; None when it vanished between the listing and this read."""
        try:
            _kind, capacity, allocation = volume.info()
            return VolumeStatus(
                name=volume.name(), path=volume.path(), capacity=_bytes(capacity), allocation=_bytes(allocation)
            )
        except libvirt.libvirtError as error:
            if _unreachable(error):
                raise
            logger.info("Could not read volume %s: %s", volume.name(), error)
            return None

    @translate_errors
    def domains_disk_paths(self, uuids: Collection[str] | None = None) -> dict[str, tuple[str, ...]]:
        if uuids is None:
            domains = self.conn.listAllDomains(0)
        else:
            domains = [domain for uuid in uuids if (domain := self._domain_or_none(uuid)) is not None]
        return {domain.UUIDString().lower(): tuple(sorted(self._storage_of(domain))) for domain in domains}

    def _domain_or_none(self, uuid: str) -> libvirt.virDomain | None:
        try:
            return self.conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    @staticmethod
    def _storage_of(domain: libvirt.virDomain) -> set[str]:
        """What the domain's running definition names, and its next boot's (a disk changed while it runs)."""
        paths = domain_storage_paths(domain.XMLDesc(0))
        if domain.isActive():
            paths |= domain_storage_paths(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        return paths

    @translate_errors
    def volume_delete_unused(self, *, pool: str, name: str) -> bool:
        storage = self._pool(pool)
        if storage is None:
            return False
        try:
            volume = storage.storageVolLookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return False
            raise
        users = self._volume_users(path=volume.path(), pool=pool, name=name)
        if users:
            raise VolumeInUse(f"Volume {name} is in use by {', '.join(sorted(users))}; it was not deleted.")
        volume.delete(0)
        return True

    def _volume_users(self, *, path: str, pool: str, name: str) -> set[str]:
        """Domains whose definitions name the volume, and volumes built on it (overlays), read now."""
        keys = {path, f"volume:{pool}/{name}"}
        users = {f"domain {domain.name()}" for domain in self.conn.listAllDomains(0) if self._storage_of(domain) & keys}
        for other_pool in self.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            for volume in other_pool.listAllVolumes(0):
                try:
                    if volume.path() != path and volume_backing_path(volume.XMLDesc(0)) == path:
                        users.add(f"volume {volume.name()} (built on it)")
                except libvirt.libvirtError as error:
                    if _unreachable(error):
                        raise
        return users
