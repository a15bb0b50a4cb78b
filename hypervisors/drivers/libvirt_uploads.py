"""The libvirt driver's uploads: bytes made by the portal (a first-boot seed) written into a host's storage pool.

libvirt's volume upload stream carries them over the same connection as every other
call, so a remote ``qemu+ssh://`` host needs no second channel.
"""

from __future__ import annotations

import contextlib

import libvirt

from hypervisors.drivers.base import DriverError
from hypervisors.drivers.domain_xml import raw_volume_xml
from hypervisors.drivers.libvirt_common import translate_errors

#: Bytes sent per stream call.
UPLOAD_CHUNK = 256 * 1024


class LibvirtUploads:
    """Upload methods of :class:`hypervisors.drivers.libvirt_driver.LibvirtDriver` (the contract is in ``base.py``)."""

    @property
    def conn(self) -> libvirt.virConnect:
        raise NotImplementedError

    def _pool(self, name: str) -> libvirt.virStoragePool | None:
        raise NotImplementedError

    @translate_errors
    def volume_upload(self, *, pool: str, name: str, data: bytes) -> str:
        storage = self._pool(pool)
        if storage is None:
            raise DriverError(f"Storage pool {pool!r} does not exist.")
        storage.refresh(0)
        try:
            # Made anew each time: a retried step may have left a half-written volume, or an older seed.
            storage.storageVolLookupByName(name).delete(0)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
        volume = storage.createXML(raw_volume_xml(name=name, capacity_bytes=len(data)), 0)
        stream = self.conn.newStream(0)
        try:
            volume.upload(stream, 0, len(data), 0)
            view = memoryview(data)
            offset = 0
            while offset < len(data):
                sent = stream.send(bytes(view[offset : offset + UPLOAD_CHUNK]))
                if sent <= 0:
                    raise DriverError(f"The host stopped taking volume {name!r} after {offset} bytes.")
                offset += sent
            stream.finish()
        except BaseException:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            raise
        path: str = volume.path()
        return path
