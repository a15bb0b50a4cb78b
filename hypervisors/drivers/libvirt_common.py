"""What every part of the libvirt driver shares: state names, error translation, and helpers on raw libvirt objects.

Only the driver package imports libvirt (see ``hypervisors/drivers/base.py``).
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Collection
from typing import ParamSpec, TypeVar

import libvirt

from hypervisors.drivers.base import DomainNotFound, DomainStats, DriverError, HostUnreachable
from hypervisors.drivers.domain_xml import memory_kib_of, snapshot_creation_time

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


def error_translate(error: libvirt.libvirtError) -> DriverError:
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
            raise error_translate(error) from error

    return wrapper


def version_text(number: int) -> str:
    """libvirt's packed version number (major * 1,000,000 + minor * 1,000 + release) as text."""
    if not number:
        return ""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


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


def balloon_reaches(domain: libvirt.virDomain, kib: int) -> bool:
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


def snapshot_time(snapshot: libvirt.virDomainSnapshot) -> int:
    """Creation time of a snapshot, for ordering (libvirt lists them in no set order)."""
    return snapshot_creation_time(snapshot.getXMLDesc(0))


def domain_stats_of(
    domain: libvirt.virDomain, record: dict[str, int], sizes_known: Collection[str] = ()
) -> DomainStats:
    """One ``getAllDomainStats`` record as :class:`DomainStats`; sums over disks and interfaces.

    A domain in ``sizes_known`` (lower-case UUIDs) is not asked for sizes its record lacks: the
    portal's own row has them, and one call per domain is what a bulk read is meant to avoid.
    """
    uuid = domain.UUIDString()
    get = record.get
    vcpus, memory_max, memory_current = get("vcpu.current"), get("balloon.maximum"), get("balloon.current")
    if (vcpus is None or memory_max is None or memory_current is None) and uuid.lower() not in sizes_known:
        # Drivers without those statistics (and shut-off domains) still know the configured sizes.
        info = domain.info()
        vcpus, memory_max, memory_current = vcpus or info[3], memory_max or info[1], memory_current or info[2]
    # Most records of a host without disks or interfaces (and every shut-off one) skip the sums entirely.
    disk_read = disk_write = disk_capacity = net_rx = net_tx = None
    disk_paths = None
    if "block.count" in record:
        disk_read, disk_write, disk_capacity = _totals(record, "block", ("rd.bytes", "wr.bytes", "capacity"))
        disks = get("block.count") or 0
        # The paths come with the block statistics (shut-off domains too, on QEMU): who uses which volume, free.
        disk_paths = tuple(str(path) for i in range(disks) if (path := get(f"block.{i}.path")))
    if "net.count" in record:
        net_rx, net_tx = _totals(record, "net", ("rx.bytes", "tx.bytes"))
    return DomainStats(
        uuid=uuid,
        name=domain.name(),
        state=STATE_NAMES.get(get("state.state", 0), "unknown"),
        cpu_time_ns=get("cpu.time"),
        vcpus=vcpus,
        memory_used_kib=get("balloon.rss") or get("balloon.current"),
        memory_max_kib=memory_max,
        disk_read_bytes=disk_read,
        disk_write_bytes=disk_write,
        net_rx_bytes=net_rx,
        net_tx_bytes=net_tx,
        disk_capacity_bytes=disk_capacity,
        memory_current_kib=memory_current,
        disk_paths=disk_paths,
    )


def _totals(record: dict[str, int], prefix: str, suffixes: tuple[str, ...]) -> tuple[int | None, ...]:
    """Sums over a record's disks or interfaces (``block.<i>.<suffix>``); None each when it reports none.

    Called for every domain of every reconcile, so a record without that group costs one lookup.
    """
    count = record.get(f"{prefix}.count")
    if count is None:
        return (None,) * len(suffixes)
    return tuple(sum(record.get(f"{prefix}.{i}.{suffix}", 0) for i in range(count)) for suffix in suffixes)


def config_max_memory_kib(domain: libvirt.virDomain) -> int:
    """The memory ceiling of the domain's next boot (its inactive definition), in KiB."""
    return memory_kib_of(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), "memory")
