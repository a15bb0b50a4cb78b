"""The contract between the portal and a hypervisor.

Only modules in this package talk to a hypervisor. Services and tasks get a
driver from :func:`hypervisors.drivers.driver_for` and call the methods below;
views and admin never do. Every method documents what it takes, returns and
raises and whether it is idempotent: workers may run a step twice (a task
redelivered after its worker died), so "already done" is success wherever it can be.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar

from hypervisors.drivers.storage_contract import StorageInventory


class DriverError(Exception):
    """A hypervisor refused or failed an operation. The message is fit to show a user."""


class HostUnreachable(DriverError):
    """The host did not answer (connection refused, timed out, daemon down). Worth retrying later."""


class DomainNotFound(DriverError):
    """No domain with that UUID exists on the host."""


@dataclass(frozen=True)
class HostFacts:
    """What a probe learnt of a host. A fact it could not read is None or empty, never an error."""

    hostname: str = ""
    cpus: int | None = None
    memory_mib: int | None = None
    libvirt_version: str = ""
    hypervisor_version: str = ""
    #: Domain types the host can run, best first ("kvm" before "qemu").
    domain_types: tuple[str, ...] = ()
    #: Whether Open vSwitch runs there; None when the driver cannot tell (a remote host).
    openvswitch: bool | None = None


#: libvirt's own network filter (shipped with libvirt) that stops a guest from spoofing MAC or IP
#: addresses and from ARP tricks; its IP is learnt from the guest's first packets (DHCP).
CLEAN_TRAFFIC_FILTER = "clean-traffic"


@dataclass(frozen=True)
class InterfaceSpec:
    """A network card: on a libvirt network by name, or QEMU user-mode networking.

    Every card on a libvirt network carries ``traffic_filter``: a guest then
    cannot pretend to be another machine on the segment it shares.
    """

    mac: str
    network: str = ""
    user_mode: bool = False
    traffic_filter: str = CLEAN_TRAFFIC_FILTER


@dataclass(frozen=True)
class NetworkSpec:
    """A libvirt network to define. ``forward`` is "nat", "route", "bridge" or "" (isolated)."""

    uuid: str
    name: str
    forward: str = "nat"
    subnet: str = ""
    bridge: str = ""
    openvswitch: bool = False


@dataclass(frozen=True)
class NetworkStatus:
    """A libvirt network as the host sees it."""

    uuid: str
    name: str
    active: bool
    bridge: str = ""


@dataclass(frozen=True)
class DomainSpec:
    """Everything needed to define a domain; built by the portal from database rows."""

    uuid: str
    name: str
    domain_type: str
    vcpus: int
    memory_mib: int
    disk_path: str
    kernel_path: str
    initrd_path: str = ""
    kernel_cmdline: str = ""
    network: str = ""
    #: Network cards; when empty, one card on ``network`` (if set).
    interfaces: tuple[InterfaceSpec, ...] = ()
    #: File on the host that keeps what the guest writes to its serial console.
    console_log: str = ""
    #: Whether the domain gets a VNC display (listening on the host's loopback only) for a graphical console.
    graphics: bool = False
    #: A read-only ISO on the host (the NoCloud seed), given as a CD-ROM on a virtio-scsi controller.
    seed_path: str = ""
    #: Free-form key/values recorded in the domain's metadata (team, owner...).
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainStatus:
    """A domain as the host sees it."""

    uuid: str
    name: str
    #: One of the ``VMState`` values (running, paused, shutoff, crashed, unknown).
    state: str


@dataclass(frozen=True)
class DomainStats:
    """Counters of one domain from one bulk read; a counter the host did not report is None.

    CPU time and I/O are cumulative since the domain started: rates come from
    the difference of two samples.
    """

    uuid: str
    name: str
    state: str
    cpu_time_ns: int | None = None
    vcpus: int | None = None
    memory_used_kib: int | None = None
    memory_max_kib: int | None = None
    disk_read_bytes: int | None = None
    disk_write_bytes: int | None = None
    net_rx_bytes: int | None = None
    net_tx_bytes: int | None = None
    disk_capacity_bytes: int | None = None
    #: Memory the guest has now: its balloon's size (the configured size when shut off).
    memory_current_kib: int | None = None
    #: Paths of its disks as the bulk read reports them; None when the read reports no disks.
    disk_paths: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HostUsage:
    """Cumulative CPU times and current memory of a host; a value the host did not report is None."""

    cpu_busy_ns: int | None = None
    cpu_total_ns: int | None = None
    memory_total_kib: int | None = None
    memory_free_kib: int | None = None


@dataclass(frozen=True)
class ResizeResult:
    """Whether a resize took effect on the running guest or waits for its next boot."""

    live: bool


class HypervisorDriver(StorageInventory, abc.ABC):
    """One connection to one hypervisor host. Use as a context manager; it closes on exit."""

    #: What this driver supports, for pages and placement to ask rather than guess.
    capabilities: ClassVar[dict[str, bool]] = {}

    def __init__(self, uri: str):
        self.uri = uri

    def __enter__(self) -> HypervisorDriver:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection if one was opened. Idempotent; never raises."""

    @abc.abstractmethod
    def probe(self) -> HostFacts:
        """Read the host's facts. Raises ``HostUnreachable``; a fact that cannot be read is left empty."""

    @abc.abstractmethod
    def pool_ensure(self, *, name: str, path: str) -> None:
        """Make sure a storage pool exists and is active; define a directory pool at ``path`` if absent.

        Idempotent. Raises ``DriverError``.
        """

    @abc.abstractmethod
    def volume_ensure(self, *, pool: str, name: str, capacity_gib: int) -> str:
        """Create a qcow2 volume unless one of that name exists; return its path.

        Idempotent (an existing volume is kept as it is). Raises ``DriverError``.
        """

    @abc.abstractmethod
    def volume_upload(self, *, pool: str, name: str, data: bytes) -> str:
        """Put ``data`` into a raw volume of exactly its size (made anew if one of that name exists); return its path.

        The bytes travel in libvirt's volume upload stream, so this works for remote hosts
        (``qemu+ssh://``) as for the local one. Idempotent: the same data gives the same volume.
        Raises ``DriverError`` (no such pool).
        """

    @abc.abstractmethod
    def volume_delete(self, *, pool: str, name: str) -> None:
        """Delete a volume. An absent volume or pool is success. Raises ``DriverError``."""

    @abc.abstractmethod
    def volume_allocation(self, *, pool: str, name: str) -> int | None:
        """Bytes a volume takes on the host's storage now (not its capacity); None when the host
        cannot tell or the volume is absent. Internal snapshots live inside the disk's file, so
        the growth of this figure is what a snapshot costs. Raises ``DriverError``."""

    @abc.abstractmethod
    def domain_define(self, spec: DomainSpec) -> None:
        """Define a persistent domain unless one with ``spec.uuid`` exists.

        Idempotent by UUID. Raises ``DriverError`` (for example a name used by
        another domain).
        """

    @abc.abstractmethod
    def domain_start(self, uuid: str) -> None:
        """Start a defined domain; one already running is success. Raises ``DomainNotFound``, ``DriverError``."""

    @abc.abstractmethod
    def domain_status(self, uuid: str) -> DomainStatus:
        """The domain's current state. Raises ``DomainNotFound``."""

    @abc.abstractmethod
    def domain_delete(self, uuid: str, *, with_storage: bool = False) -> None:
        """Stop (hard) and undefine a domain with its snapshots; with ``with_storage`` also delete
        the volumes of its disks. An absent domain is success. Raises ``DriverError``."""

    @abc.abstractmethod
    def domains_list(self) -> list[DomainStatus]:
        """Every domain on the host, in one round trip."""

    @abc.abstractmethod
    def host_usage(self) -> HostUsage:
        """The host's CPU times and free memory. Raises ``HostUnreachable``."""

    @abc.abstractmethod
    def domains_stats(self, *, sizes_known: Collection[str] = ()) -> list[DomainStats]:
        """State and counters of every domain on the host, in one round trip.

        ``sizes_known``: UUIDs (lower case) whose vCPU count and maximum memory the caller
        does not need (it has them in its rows). Where the bulk read lacks those two figures,
        the driver asks per domain only for the others, so a host of thousands costs no
        thousands of calls; for these they may be None.
        """

    # -- power ------------------------------------------------------------------------------

    @abc.abstractmethod
    def domain_shutdown(self, uuid: str) -> None:
        """Ask the guest to power off (ACPI); returns at once. Shut off already is success."""

    @abc.abstractmethod
    def domain_power_off(self, uuid: str) -> None:
        """Pull the plug. Shut off already is success."""

    @abc.abstractmethod
    def domain_reboot(self, uuid: str) -> None:
        """Ask the guest to reboot (ACPI). Raises ``DriverError`` unless it runs."""

    @abc.abstractmethod
    def domain_reset(self, uuid: str) -> None:
        """Press the reset button. Raises ``DriverError`` unless it runs."""

    @abc.abstractmethod
    def domain_suspend(self, uuid: str) -> None:
        """Pause the guest's vCPUs. Paused already is success."""

    @abc.abstractmethod
    def domain_resume(self, uuid: str) -> None:
        """Resume a paused guest. Running already is success."""

    # -- resize -----------------------------------------------------------------------------

    @abc.abstractmethod
    def domain_set_memory(self, uuid: str, memory_mib: int) -> ResizeResult:
        """Set the guest's memory: live when it runs and its maximum allows (as ``virsh setmem``),
        otherwise in its configuration for the next boot. Idempotent."""

    @abc.abstractmethod
    def domain_set_vcpus(self, uuid: str, vcpus: int) -> ResizeResult:
        """Set the guest's vCPUs: live when it runs and its maximum allows, otherwise at next boot. Idempotent."""

    # -- snapshots --------------------------------------------------------------------------

    @abc.abstractmethod
    def snapshot_create(self, uuid: str, name: str) -> None:
        """Take a snapshot named ``name``; one of that name existing is success."""

    @abc.abstractmethod
    def snapshots_list(self, uuid: str) -> list[str]:
        """Names of the domain's snapshots, oldest first."""

    @abc.abstractmethod
    def snapshot_revert(self, uuid: str, name: str) -> None:
        """Return the domain to a snapshot. Raises ``DriverError`` if it does not exist."""

    @abc.abstractmethod
    def snapshot_delete(self, uuid: str, name: str) -> None:
        """Delete a snapshot; an absent one is success."""

    # -- networks ---------------------------------------------------------------------------

    @abc.abstractmethod
    def network_define(self, spec: NetworkSpec) -> None:
        """Define a persistent network unless one with ``spec.uuid`` exists. Idempotent.

        Raises ``DriverError`` (a name or bridge in use, a subnet that overlaps one of the host's).
        """

    @abc.abstractmethod
    def network_start(self, uuid: str, *, autostart: bool) -> None:
        """Start a network (running already is success) and set whether it starts with the host."""

    @abc.abstractmethod
    def network_stop(self, uuid: str) -> None:
        """Stop a network; stopped already is success."""

    @abc.abstractmethod
    def network_delete(self, uuid: str) -> None:
        """Stop and undefine a network; an absent one is success."""

    @abc.abstractmethod
    def network_filter_present(self, name: str) -> bool | None:
        """Whether the host defines the network filter ``name``; None when the driver has no filters to ask.

        Read only; a guest whose card names a missing filter fails to start, so
        builds ask first and say what the host lacks.
        """

    @abc.abstractmethod
    def networks_list(self) -> list[NetworkStatus]:
        """Every network on the host, in one call."""

    @abc.abstractmethod
    def network_leases(self, name: str) -> dict[str, list[str]]:
        """Addresses the network's DHCP server gave out, by MAC; empty where the host cannot tell."""

    @abc.abstractmethod
    def domain_interface_attach(self, uuid: str, interface: InterfaceSpec) -> ResizeResult:
        """Add a network card: live and in the configuration when the VM runs, else for the next boot.

        Idempotent by MAC.
        """

    @abc.abstractmethod
    def domain_interface_detach(self, uuid: str, mac: str) -> ResizeResult:
        """Remove the network card with this MAC, live when the VM runs. An absent card is success."""
