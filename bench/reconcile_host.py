"""The host of the reconcile benchmark: libvirt's test driver loaded from a generated ``<node>`` file, its rows,
and the counters a real host would report.

The file is built with ElementTree; the rows are bulk-inserted. See ``bench_reconcile.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import analyze

MANAGED = 4_000  # domains with a VM row; the others are unmanaged
#: Extra VM rows whose domains are not on the host (the reconcile marks them missing).
VANISHED = 40
#: libvirt's test driver run states (``<test:runstate>``): out of 10 domains, 8 running, 1 shut off, 1 paused.
RUNSTATES = (1, 1, 1, 1, 1, 1, 1, 1, 5, 3)
STATE_OF_RUNSTATE = {1: "running", 5: "shutoff", 3: "paused"}
TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"


# -- the host ------------------------------------------------------------------------------------


@dataclass
class Domain:
    uuid: str
    name: str
    state: str


#: With ``--volumes``: the pool of the domains' disks, and volumes in it that no domain uses.
POOL_PATH = "/bench-pool"
ORPHANS = 50


def node_write(path: Path, count: int, *, volumes: bool = False) -> list[Domain]:
    """A test-driver ``<node>`` file with ``count`` domains (1 vCPU, 128 MiB, HVM); returns them.

    With ``volumes``, also a directory pool holding a disk per domain (``<uuid>.qcow2``, the portal's
    naming) and ORPHANS volumes no domain uses.
    """
    domains = [
        Domain(uuid=str(uuid.uuid4()), name=f"bench.d{i:05d}", state=STATE_OF_RUNSTATE[RUNSTATES[i % len(RUNSTATES)]])
        for i in range(count)
    ]
    ET.register_namespace("test", TEST_NS)
    cpu = ET.Element("cpu")
    for tag, text in (("nodes", "1"), ("sockets", "2"), ("cores", "32"), ("threads", "2"), ("active", "128")):
        ET.SubElement(cpu, tag).text = text
    ET.SubElement(cpu, "mhz").text = "3000"
    ET.SubElement(cpu, "model").text = "x86_64"
    memory = ET.Element("memory")
    memory.text = "1073741824"
    # Each domain is serialized on its own so that it carries the test namespace itself:
    # the test driver reads a domain's runstate only from a declaration on that element.
    parts = [ET.tostring(cpu, encoding="unicode"), ET.tostring(memory, encoding="unicode")]
    for i, domain in enumerate(domains):
        element = ET.Element("domain", {"type": "test"})
        for tag, text in (("name", domain.name), ("uuid", domain.uuid), ("memory", "131072"), ("vcpu", "1")):
            ET.SubElement(element, tag).text = text
        ET.SubElement(element, f"{{{TEST_NS}}}runstate").text = str(RUNSTATES[i % len(RUNSTATES)])
        ET.SubElement(ET.SubElement(element, "os"), "type").text = "hvm"
        parts.append(ET.tostring(element, encoding="unicode"))
    if volumes:
        parts.append(ET.tostring(_pool(domains), encoding="unicode"))
    path.write_text("<node>" + "\n".join(parts) + "</node>\n")
    return domains


def _pool(domains: list[Domain]) -> ET.Element:
    pool = ET.Element("pool", {"type": "dir"})
    for tag, text in (("name", "bench-pool"), ("uuid", str(uuid.uuid4())), ("capacity", str(10**13))):
        ET.SubElement(pool, tag).text = text
    ET.SubElement(pool, "allocation").text = str(10**12)
    ET.SubElement(pool, "available").text = str(9 * 10**12)
    ET.SubElement(ET.SubElement(pool, "target"), "path").text = POOL_PATH
    names = [f"{d.uuid}.qcow2" for d in domains] + [f"stray-{i:03d}.img" for i in range(ORPHANS)]
    for name in names:
        volume = ET.SubElement(pool, "volume", {"type": "file"})
        ET.SubElement(volume, "name").text = name
        ET.SubElement(volume, "capacity").text = str(2**30)
        # The test driver sums allocations against a 100 GiB pool, whatever the file says.
        ET.SubElement(volume, "allocation").text = str(2**20)
        ET.SubElement(ET.SubElement(volume, "target"), "path").text = f"{POOL_PATH}/{name}"
    return pool


@contextlib.contextmanager
def disk_paths_reported() -> Iterator[None]:
    """Make ``domains_stats`` report each domain's disk path, as QEMU's bulk statistics do (shut-off
    domains too); the test driver reports none. Only with ``--volumes``."""
    from hypervisors.drivers.libvirt_driver import LibvirtDriver

    original = LibvirtDriver.domains_stats

    def with_paths(self: Any, **kwargs: Any) -> Any:
        return [
            dataclasses.replace(s, disk_paths=(f"{POOL_PATH}/{s.uuid.lower()}.qcow2",))
            for s in original(self, **kwargs)
        ]

    LibvirtDriver.domains_stats = with_paths  # type: ignore[method-assign]
    try:
        yield
    finally:
        LibvirtDriver.domains_stats = original  # type: ignore[method-assign]


def seed(uri: str, domains: list[Domain]) -> tuple[Any, list[Any]]:
    """The host row, one team, VM rows for the first MANAGED domains (in their true state) and VANISHED ghosts."""
    from hypervisors.models import Host, VirtualMachine
    from portal.models import Quota, Team

    host = Host.objects.create(name="bench-test-host", uri=uri, domain_type="test", is_reachable=True)
    team = Team.objects.create(name="bench", slug="bench")
    Quota.objects.create(
        team=team, vcpus=Decimal(100_000), memory_mib=10**9, disk_gib=10**7, vm_count=100_000, container_count=0
    )
    rows = [
        VirtualMachine(
            team=team,
            host=host,
            uuid=d.uuid,
            name=d.name.removeprefix("bench."),
            domain_name=d.name,
            vcpus=1,
            memory_mib=128,
            disk_gib=1,
            state=d.state,
        )
        for d in domains[:MANAGED]
    ]
    rows += [
        VirtualMachine(
            team=team,
            host=host,
            name=f"gone{i:03d}",
            domain_name=f"bench.gone{i:03d}",
            vcpus=1,
            memory_mib=128,
            disk_gib=1,
            state="missing",
        )
        for i in range(VANISHED)
    ]
    vms = VirtualMachine.objects.bulk_create(rows, batch_size=2000)
    analyze()
    return host, vms


@contextlib.contextmanager
def counters_reported() -> Iterator[None]:
    """Make ``domains_stats`` return counters for running domains, as a real host does.

    The test driver reports only ``state.*``, so without this the reconcile writes no
    VMStatSample rows. Only used for the rows labelled "with counters".
    """
    from hypervisors.drivers.libvirt_driver import LibvirtDriver

    original = LibvirtDriver.domains_stats

    def with_counters(self: Any, **kwargs: Any) -> Any:
        stats = original(self, **kwargs)
        return [
            dataclasses.replace(
                s,
                cpu_time_ns=10**9,
                memory_used_kib=65536,
                disk_read_bytes=1,
                disk_write_bytes=1,
                net_rx_bytes=1,
                net_tx_bytes=1,
            )
            if s.state == "running"
            else s
            for s in stats
        ]

    LibvirtDriver.domains_stats = with_counters  # type: ignore[method-assign]
    try:
        yield
    finally:
        LibvirtDriver.domains_stats = original  # type: ignore[method-assign]
