"""The libvirt driver: ``qemu:///system``, ``qemu+ssh://``, ``qemu+tls://`` and libvirt's ``test://`` hosts.

Host, storage, domain and snapshot methods live here; networks in ``libvirt_networks``, uploads in
``libvirt_uploads``, the storage inventory in ``libvirt_storage``, shared helpers in ``libvirt_common``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import ClassVar

import libvirt

from hypervisors.drivers.base import (
    DomainSpec,
    DomainStats,
    DomainStatus,
    DriverError,
    HostFacts,
    HostUnreachable,
    HostUsage,
    HypervisorDriver,
    ResizeResult,
)
from hypervisors.drivers.domain_xml import (
    domain_disk_paths,
    domain_xml,
    guest_domain_types,
    host_has_virtualization_extensions,
    pool_xml,
    snapshot_xml,
    volume_xml,
)
from hypervisors.drivers.libvirt_common import (
    DOMAIN_STATS_FLAGS,
    STATE_NAMES,
    balloon_reaches,
    config_max_memory_kib,
    domain_stats_of,
    error_translate,
    is_local_uri,
    local_openvswitch,
    snapshot_time,
    translate_errors,
    version_text,
)
from hypervisors.drivers.libvirt_networks import LibvirtNetworks
from hypervisors.drivers.libvirt_storage import LibvirtStorage
from hypervisors.drivers.libvirt_uploads import LibvirtUploads

logger = logging.getLogger(__name__)

__all__ = ["DOMAIN_STATS_FLAGS", "STATE_NAMES", "LibvirtDriver", "is_local_uri", "local_openvswitch"]


class LibvirtDriver(LibvirtNetworks, LibvirtUploads, LibvirtStorage, HypervisorDriver):
    """A hypervisor reached through libvirt. The connection opens on first use."""

    capabilities: ClassVar[dict[str, bool]] = {"direct_kernel_boot": True, "qcow2_volumes": True}

    def __init__(self, uri: str):
        super().__init__(uri)
        self._conn: libvirt.virConnect | None = None

    @property
    def conn(self) -> libvirt.virConnect:
        if self._conn is None:
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as error:
                raise HostUnreachable(error.get_error_message() or str(error)) from error
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except libvirt.libvirtError:
                logger.debug("Closing %s failed", self.uri, exc_info=True)
            self._conn = None

    # -- host -------------------------------------------------------------------------------

    @translate_errors
    def probe(self) -> HostFacts:
        conn = self.conn
        facts: dict[str, object] = {}
        for key, read in (
            ("hostname", conn.getHostname),
            ("libvirt_version", lambda: version_text(conn.getLibVersion())),
            ("hypervisor_version", lambda: version_text(conn.getVersion())),
            ("domain_types", lambda: self._usable_domain_types(conn)),
        ):
            try:
                facts[key] = read()
            except libvirt.libvirtError as error:
                if error_translate(error).__class__ is HostUnreachable:
                    raise
                logger.info("Probe of %s could not read %s: %s", self.uri, key, error)
        facts["openvswitch"] = local_openvswitch() if is_local_uri(self.uri) else None
        try:
            info = conn.getInfo()
            facts["memory_mib"], facts["cpus"] = int(info[1]), int(info[2])
        except libvirt.libvirtError as error:
            logger.info("Probe of %s could not read CPUs and memory: %s", self.uri, error)
        return HostFacts(**facts)  # type: ignore[arg-type]

    @staticmethod
    def _usable_domain_types(conn: libvirt.virConnect) -> tuple[str, ...]:
        """Domain types from the capabilities, keeping ``kvm`` only where it can really run guests.

        That needs the CPU's virtualisation extensions in the host capabilities
        and KVM domain capabilities that libvirt can read; a ``/dev/kvm`` node
        alone is not enough.
        """
        capabilities = conn.getCapabilities()
        types = guest_domain_types(capabilities)
        if "kvm" not in types:
            return types
        usable = host_has_virtualization_extensions(capabilities)
        if usable:
            try:
                conn.getDomainCapabilities(None, None, None, "kvm", 0)
            except libvirt.libvirtError:
                usable = False
        return types if usable else tuple(t for t in types if t != "kvm")

    # -- storage ----------------------------------------------------------------------------

    def _pool(self, name: str) -> libvirt.virStoragePool | None:
        try:
            return self.conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
                return None
            raise

    @translate_errors
    def pool_ensure(self, *, name: str, path: str) -> None:
        pool = self._pool(name)
        if pool is None:
            pool = self.conn.storagePoolDefineXML(pool_xml(name=name, path=path), 0)
            pool.build(0)
            pool.setAutostart(1)
        if not pool.isActive():
            pool.create(0)

    @translate_errors
    def volume_ensure(self, *, pool: str, name: str, capacity_gib: int) -> str:
        storage = self._pool(pool)
        if storage is None:
            raise DriverError(f"Storage pool {pool!r} does not exist.")
        storage.refresh(0)
        try:
            volume = storage.storageVolLookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            volume = storage.createXML(volume_xml(name=name, capacity_gib=capacity_gib), 0)
        path: str = volume.path()
        return path

    @translate_errors
    def volume_delete(self, *, pool: str, name: str) -> None:
        storage = self._pool(pool)
        if storage is None:
            return
        try:
            storage.refresh(0)
            storage.storageVolLookupByName(name).delete(0)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise

    @translate_errors
    def volume_allocation(self, *, pool: str, name: str) -> int | None:
        storage = self._pool(pool)
        if storage is None:
            return None
        try:
            # Reading a volume's info refreshes it from the file, so the figure is current.
            return int(storage.storageVolLookupByName(name).info()[2])
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            return None

    # -- domains ----------------------------------------------------------------------------

    def _domain(self, uuid: str) -> libvirt.virDomain:
        return self.conn.lookupByUUIDString(uuid)

    @translate_errors
    def domain_define(self, spec: DomainSpec) -> None:
        try:
            self._domain(spec.uuid)
            return
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
        self.conn.defineXML(domain_xml(spec))

    @translate_errors
    def domain_start(self, uuid: str) -> None:
        domain = self._domain(uuid)
        if not domain.isActive():
            domain.create()

    @translate_errors
    def domain_status(self, uuid: str) -> DomainStatus:
        domain = self._domain(uuid)
        return self._status(domain)

    @staticmethod
    def _status(domain: libvirt.virDomain) -> DomainStatus:
        state, _reason = domain.state()
        return DomainStatus(uuid=domain.UUIDString(), name=domain.name(), state=STATE_NAMES.get(state, "unknown"))

    @translate_errors
    def domain_delete(self, uuid: str, *, with_storage: bool = False) -> None:
        try:
            domain = self._domain(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            raise
        disks = domain_disk_paths(domain.XMLDesc(0)) if with_storage else []
        if domain.isActive():
            domain.destroy()
        try:
            domain.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            )
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
        for path in disks:
            try:
                self.conn.storageVolLookupByPath(path).delete(0)
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                    raise

    @translate_errors
    def domains_list(self) -> list[DomainStatus]:
        return [self._status(domain) for domain in self.conn.listAllDomains(0)]

    @translate_errors
    def host_usage(self) -> HostUsage:
        usage: dict[str, int | None] = {}
        try:
            cpu = self.conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
            busy = sum(cpu.get(key, 0) for key in ("kernel", "user"))
            usage["cpu_busy_ns"], usage["cpu_total_ns"] = busy, busy + cpu.get("idle", 0) + cpu.get("iowait", 0)
        except libvirt.libvirtError as error:
            if isinstance(error_translate(error), HostUnreachable):
                raise
        try:
            memory = self.conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
            free = sum(memory.get(key, 0) for key in ("free", "buffers", "cached"))
            usage["memory_total_kib"], usage["memory_free_kib"] = memory.get("total"), free
        except libvirt.libvirtError as error:
            if isinstance(error_translate(error), HostUnreachable):
                raise
        return HostUsage(**usage)

    @translate_errors
    def domains_stats(self, *, sizes_known: Collection[str] = ()) -> list[DomainStats]:
        stats = self.conn.getAllDomainStats(DOMAIN_STATS_FLAGS, 0)
        return [domain_stats_of(domain, record, sizes_known) for domain, record in stats]

    # -- power ------------------------------------------------------------------------------

    @translate_errors
    def domain_shutdown(self, uuid: str) -> None:
        domain = self._domain(uuid)
        if domain.isActive():
            domain.shutdown()

    @translate_errors
    def domain_power_off(self, uuid: str) -> None:
        domain = self._domain(uuid)
        if domain.isActive():
            domain.destroy()

    @translate_errors
    def domain_reboot(self, uuid: str) -> None:
        self._running(uuid).reboot(0)

    @translate_errors
    def domain_reset(self, uuid: str) -> None:
        self._running(uuid).reset(0)

    @translate_errors
    def domain_suspend(self, uuid: str) -> None:
        domain = self._running(uuid)
        if domain.state()[0] != libvirt.VIR_DOMAIN_PAUSED:
            domain.suspend()

    @translate_errors
    def domain_resume(self, uuid: str) -> None:
        domain = self._running(uuid)
        if domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
            domain.resume()

    def _running(self, uuid: str) -> libvirt.virDomain:
        domain = self._domain(uuid)
        if not domain.isActive():
            raise DriverError("The VM is not running.")
        return domain

    # -- resize -----------------------------------------------------------------------------

    @translate_errors
    def domain_set_memory(self, uuid: str, memory_mib: int) -> ResizeResult:
        domain = self._domain(uuid)
        kib = memory_mib * 1024
        active = bool(domain.isActive())
        live = active and kib <= domain.maxMemory()
        if live:
            domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            # The target is only a request: a guest without a balloon driver keeps its memory.
            live = balloon_reaches(domain, kib)
        if not active or kib > config_max_memory_kib(domain):
            # The ceiling of the next boot; the current size cannot exceed it. A running
            # guest's ceiling is never lowered: it is what the guest can grow back to.
            domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        return ResizeResult(live=live)

    @translate_errors
    def domain_set_vcpus(self, uuid: str, vcpus: int) -> ResizeResult:
        domain = self._domain(uuid)
        maximum = domain.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
        live = bool(domain.isActive()) and vcpus <= maximum
        if live:
            try:
                domain.setVcpusFlags(vcpus, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except libvirt.libvirtError as error:
                logger.info("Live vCPU change refused, applying at next boot: %s", error)
                live = False
        if vcpus > maximum:
            domain.setVcpusFlags(vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
        domain.setVcpusFlags(vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        return ResizeResult(live=live)

    # -- snapshots --------------------------------------------------------------------------

    def _snapshot(self, uuid: str, name: str) -> libvirt.virDomainSnapshot | None:
        try:
            return self._domain(uuid).snapshotLookupByName(name, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                return None
            raise

    @translate_errors
    def snapshot_create(self, uuid: str, name: str) -> None:
        if self._snapshot(uuid, name) is None:
            self._domain(uuid).snapshotCreateXML(snapshot_xml(name=name), 0)

    @translate_errors
    def snapshots_list(self, uuid: str) -> list[str]:
        # Topological order puts a parent before its children; creation times (whole
        # seconds) then order what the topology leaves open. The sort is stable.
        snapshots = self._domain(uuid).listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)
        return [snapshot.getName() for snapshot in sorted(snapshots, key=snapshot_time)]

    @translate_errors
    def snapshot_revert(self, uuid: str, name: str) -> None:
        snapshot = self._snapshot(uuid, name)
        if snapshot is None:
            raise DriverError(f"The VM has no snapshot named {name!r}.")
        self._domain(uuid).revertToSnapshot(snapshot, 0)

    @translate_errors
    def snapshot_delete(self, uuid: str, name: str) -> None:
        snapshot = self._snapshot(uuid, name)
        if snapshot is not None:
            snapshot.delete(0)
