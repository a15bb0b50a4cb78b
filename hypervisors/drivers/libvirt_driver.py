"""The libvirt driver: ``qemu:///system``, ``qemu+ssh://``, ``qemu+tls://`` and libvirt's ``test://`` hosts."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Collection
from typing import ClassVar, ParamSpec, TypeVar

import libvirt

from hypervisors.drivers.base import (
    DomainNotFound,
    DomainSpec,
    DomainStats,
    DomainStatus,
    DriverError,
    HostFacts,
    HostUnreachable,
    HostUsage,
    HypervisorDriver,
    InterfaceSpec,
    NetworkSpec,
    NetworkStatus,
    ResizeResult,
)
from hypervisors.drivers.domain_xml import (
    domain_disk_paths,
    domain_interface_by_mac,
    domain_macs,
    domain_xml,
    guest_domain_types,
    host_has_virtualization_extensions,
    interface_xml,
    network_leases_parse,
    network_xml,
    pool_xml,
    snapshot_creation_time,
    snapshot_xml,
    volume_xml,
)

logger = logging.getLogger(__name__)

# libvirt prints every error to stderr unless told otherwise; we raise instead.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

#: libvirt domain states as the portal's VM states.
STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: "unknown",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "running",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "paused",
}

#: What one bulk statistics read asks for: state, CPU, memory balloon, vCPUs, network and disk I/O.
DOMAIN_STATS_FLAGS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)

#: Errors that mean the host, not the operation, is the problem. A system error
#: counts only when it comes from the RPC layer: locally it is a failed operation.
UNREACHABLE_CODES = {libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_RPC}
UNREACHABLE_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}

P = ParamSpec("P")
R = TypeVar("R")


def _translate(error: libvirt.libvirtError) -> DriverError:
    """A libvirt error as one of the contract's errors, with libvirt's readable message."""
    message = error.get_error_message() or str(error)
    if error.get_error_code() in UNREACHABLE_CODES or error.get_error_domain() in UNREACHABLE_DOMAINS:
        return HostUnreachable(message)
    if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
        return DomainNotFound(message)
    return DriverError(message)


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn ``libvirtError`` raised by a driver method into the contract's errors."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except libvirt.libvirtError as error:
            raise _translate(error) from error

    return wrapper


def _version(number: int) -> str:
    """libvirt's packed version number (major * 1,000,000 + minor * 1,000 + release) as text."""
    if not number:
        return ""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


class LibvirtDriver(HypervisorDriver):
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
            ("libvirt_version", lambda: _version(conn.getLibVersion())),
            ("hypervisor_version", lambda: _version(conn.getVersion())),
            ("domain_types", lambda: self._usable_domain_types(conn)),
        ):
            try:
                facts[key] = read()
            except libvirt.libvirtError as error:
                if _translate(error).__class__ is HostUnreachable:
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
            if isinstance(_translate(error), HostUnreachable):
                raise
        try:
            memory = self.conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
            free = sum(memory.get(key, 0) for key in ("free", "buffers", "cached"))
            usage["memory_total_kib"], usage["memory_free_kib"] = memory.get("total"), free
        except libvirt.libvirtError as error:
            if isinstance(_translate(error), HostUnreachable):
                raise
        return HostUsage(**usage)

    @translate_errors
    def domains_stats(self, *, sizes_known: Collection[str] = ()) -> list[DomainStats]:
        stats = self.conn.getAllDomainStats(DOMAIN_STATS_FLAGS, 0)
        return [_domain_stats(domain, record, sizes_known) for domain, record in stats]

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
        live = bool(domain.isActive()) and kib <= domain.maxMemory()
        if live:
            domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            # The target is only a request: a guest without a balloon driver keeps its memory.
            live = _balloon_reaches(domain, kib)
        if not live:
            # The ceiling of the next boot; the current size cannot exceed it.
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
        return [snapshot.getName() for snapshot in sorted(snapshots, key=_snapshot_time)]

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

    # -- networks ---------------------------------------------------------------------------

    def _network(self, uuid: str) -> libvirt.virNetwork | None:
        try:
            return self.conn.networkLookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                return None
            raise

    @translate_errors
    def network_define(self, spec: NetworkSpec) -> None:
        if self._network(spec.uuid) is None:
            self.conn.networkDefineXML(network_xml(spec))

    @translate_errors
    def network_start(self, uuid: str, *, autostart: bool) -> None:
        network = self._network(uuid)
        if network is None:
            raise DriverError("The network is not defined on the host.")
        if not network.isActive():
            network.create()
        network.setAutostart(1 if autostart else 0)

    @translate_errors
    def network_stop(self, uuid: str) -> None:
        network = self._network(uuid)
        if network is not None and network.isActive():
            network.destroy()

    @translate_errors
    def network_delete(self, uuid: str) -> None:
        network = self._network(uuid)
        if network is None:
            return
        if network.isActive():
            network.destroy()
        network.undefine()

    @translate_errors
    def networks_list(self) -> list[NetworkStatus]:
        statuses = []
        for network in self.conn.listAllNetworks(0):
            try:
                bridge = network.bridgeName()
            except libvirt.libvirtError:
                bridge = ""
            statuses.append(
                NetworkStatus(
                    uuid=network.UUIDString(), name=network.name(), active=bool(network.isActive()), bridge=bridge
                )
            )
        return statuses

    @translate_errors
    def network_leases(self, name: str) -> dict[str, list[str]]:
        try:
            return network_leases_parse(self.conn.networkLookupByName(name).DHCPLeases())
        except libvirt.libvirtError as error:
            if error.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_NO_NETWORK):
                return {}
            raise

    @translate_errors
    def domain_interface_attach(self, uuid: str, interface: InterfaceSpec) -> ResizeResult:
        domain = self._domain(uuid)
        if interface.mac.lower() in domain_macs(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return ResizeResult(live=bool(domain.isActive()))
        live = bool(domain.isActive())
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0)
        domain.attachDeviceFlags(interface_xml(interface), flags)
        return ResizeResult(live=live)

    @translate_errors
    def domain_interface_detach(self, uuid: str, mac: str) -> ResizeResult:
        domain = self._domain(uuid)
        live = bool(domain.isActive())
        for flag, document in (
            (libvirt.VIR_DOMAIN_AFFECT_CONFIG, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)),
            (libvirt.VIR_DOMAIN_AFFECT_LIVE, domain.XMLDesc(0) if live else ""),
        ):
            element = domain_interface_by_mac(document, mac) if document else None
            if element is not None:
                domain.detachDeviceFlags(element, flag)
        return ResizeResult(live=live)


def is_local_uri(uri: str) -> bool:
    """Whether a libvirt URI names this machine's own daemon (no host part: ``qemu:///system``)."""
    return "://" in uri and uri.split("://", 1)[1].startswith("/")


def local_openvswitch() -> bool:
    """Whether Open vSwitch answers on this machine (``ovs-vsctl show``)."""
    command = shutil.which("ovs-vsctl")
    if command is None:
        return False
    try:
        return subprocess.run([command, "--timeout=5", "show"], capture_output=True, check=False).returncode == 0  # noqa: S603
    except OSError:
        return False


#: How long a running guest gets to move its balloon to a new memory size.
BALLOON_WAIT_SECONDS = 5.0


def _balloon_reaches(domain: libvirt.virDomain, kib: int) -> bool:
    """Whether the guest's balloon reaches ``kib`` soon; True where the host cannot tell (no balloon stats)."""
    deadline = time.monotonic() + BALLOON_WAIT_SECONDS
    while True:
        try:
            actual = domain.memoryStats().get("actual")
        except libvirt.libvirtError:
            return True
        if actual is None or abs(actual - kib) <= 1024:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


def _snapshot_time(snapshot: libvirt.virDomainSnapshot) -> int:
    """Creation time of a snapshot, for ordering (libvirt lists them in no set order)."""
    return snapshot_creation_time(snapshot.getXMLDesc(0))


def _domain_stats(domain: libvirt.virDomain, record: dict[str, int], sizes_known: Collection[str]) -> DomainStats:
    """One ``getAllDomainStats`` record as :class:`DomainStats`; sums over disks and interfaces."""

    def total(prefix: str, suffix: str) -> int | None:
        count = record.get(f"{prefix}.count")
        if count is None:
            return None
        return sum(record.get(f"{prefix}.{i}.{suffix}", 0) for i in range(count))

    uuid = domain.UUIDString()
    vcpus, memory_max = record.get("vcpu.current"), record.get("balloon.maximum")
    if (vcpus is None or memory_max is None) and uuid.lower() not in sizes_known:
        # Drivers without those statistics (and shut-off domains) still know the configured sizes.
        info = domain.info()
        vcpus, memory_max = vcpus or info[3], memory_max or info[1]
    return DomainStats(
        uuid=uuid,
        name=domain.name(),
        state=STATE_NAMES.get(record.get("state.state", 0), "unknown"),
        cpu_time_ns=record.get("cpu.time"),
        vcpus=vcpus,
        memory_used_kib=record.get("balloon.rss") or record.get("balloon.current"),
        memory_max_kib=memory_max,
        disk_read_bytes=total("block", "rd.bytes"),
        disk_write_bytes=total("block", "wr.bytes"),
        net_rx_bytes=total("net", "rx.bytes"),
        net_tx_bytes=total("net", "tx.bytes"),
        disk_capacity_bytes=total("block", "capacity"),
    )
