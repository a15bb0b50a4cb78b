"""The local ``qemu:///system`` for integration tests: the host and guest image, the domains a test
leaves, the guest's console, virsh, and libvirtd stopped, frozen or restarted on purpose.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from django.conf import settings

from hypervisors.choices import HypervisorKind
from hypervisors.hosts.services import host_probe
from hypervisors.models import AddressPool, Host, Image
from portal.models import ResourceRequest, Team
from tests.factories import ImageFactory, UserFactory
from tests.support.processes import job_wait
from tests.support.stack import libvirt_system_available, require

#: Storage pool the tests create on the real host, apart from the demo's.
TEST_POOL = "portal-test"
TEST_POOL_PATH = "/var/lib/libvirt/images/portal-test"


@pytest.fixture
def qemu_host(transactional_db, live_team) -> Iterator[Host]:
    """The local ``qemu:///system``, probed for real.

    Afterwards the domains of ``live_team`` (named ``<slug>.<vm>``), their disks
    and the team's own networks are removed; nothing else on the host is touched.
    """
    require(libvirt_system_available(), "needs libvirtd with qemu:///system")
    host = host_probe(host_id=Host.objects.create(name="local", uri="qemu:///system").pk)
    assert host.is_reachable, host.last_error
    host.storage_pool, host.storage_path = TEST_POOL, TEST_POOL_PATH
    conn = libvirt.open("qemu:///system")
    network = conn.networkLookupByName("default")
    if not network.isActive():
        network.create()
    host.network = "default"
    host.save()
    team_network_pool_create(live_team.slug)
    try:
        yield host
    finally:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(f"{live_team.slug}."):
                domain_remove(conn, domain)
        networks_remove(conn, f"{live_team.slug}.")
        conn.close()


def team_network_pool_create(team_slug: str) -> AddressPool:
    """An address pool for the test team's own networks, in a /16 of 10.200-249.x.x no route here overlaps.

    VMs asked for without a network get their team's own NAT network, whose
    subnet comes from a pool; libvirt refuses to start one on a range in use.
    """
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout.splitlines()
    used = [ipaddress.ip_network(line.split()[0]) for line in routes if line[:1].isdigit()]
    candidates = [ipaddress.ip_network(f"10.{second}.0.0/16") for second in range(200, 250)]
    free = [candidate for candidate in candidates if not any(candidate.overlaps(route) for route in used)]
    return AddressPool.objects.create(name=f"pool-{team_slug}", cidr=str(random.choice(free)), subnet_prefix=24)


def networks_remove(conn: libvirt.virConnect, prefix: str) -> None:
    """Stop and undefine the libvirt networks whose names start with ``prefix`` (a test team's own)."""
    for network in conn.listAllNetworks(0):
        if network.name().startswith(prefix):
            with contextlib.suppress(libvirt.libvirtError):
                if network.isActive():
                    network.destroy()
                network.undefine()


def domain_remove(conn: libvirt.virConnect, domain: libvirt.virDomain) -> None:
    """Destroy and undefine a test's domain, and delete its disks."""
    root = ET.fromstring(domain.XMLDesc(0))
    disks = [source.get("file") for source in root.findall("devices/disk/source") if source.get("file")]
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    for path in disks:
        with contextlib.suppress(libvirt.libvirtError):
            conn.storageVolLookupByPath(path).delete(0)


@pytest.fixture
def guest_image(transactional_db) -> Image:
    """The tiny Debian-kernel + busybox guest built by scripts/build-guest-image.sh."""
    directory = settings.PORTAL_GUEST_IMAGE_DIR
    require((directory / "vmlinuz").exists(), f"needs the guest image in {directory} (scripts/setup.sh builds it)")
    return ImageFactory(
        name="busybox-tiny",
        kernel_path=str(directory / "vmlinuz"),
        initrd_path=str(directory / "initramfs.cpio.gz"),
        kernel_cmdline="console=ttyS0 panic=-1 quiet",
        cloud_init=True,
    )


#: What the tiny guest's init prints once booted (scripts/build-guest-image.sh).
GUEST_BANNER = "portal-guest: booted"
#: Where libvirt keeps each guest's serial console output (see hypervisors/vms/provisioning.py).
CONSOLE_LOG_DIR = Path("/var/log/libvirt/qemu")


def console_log(domain_name: str) -> Path:
    return CONSOLE_LOG_DIR / f"{domain_name}.console.log"


def banner_count(domain_name: str) -> int:
    """How often the guest has printed its boot banner since its QEMU process started."""
    path = console_log(domain_name)
    return path.read_text(errors="replace").count(GUEST_BANNER) if path.exists() else 0


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``virsh -c qemu:///system ARGS``, as an administrator would type it."""
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=60, check=check
    )


def libvirtd_pid() -> int | None:
    """The pid of the running libvirtd (the one monolithic daemon here), or None."""
    found = subprocess.run(["pidof", "-s", "libvirtd"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.returncode == 0 and found.stdout.strip() else None


def libvirtd_answers() -> bool:
    try:
        return virsh("version", check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def libvirtd_ensure_running(timeout: float = 60) -> None:
    """Start virtlogd and libvirtd as scripts/setup.sh does, if they are not running, and wait for them.

    Also make sure the ``default`` network is active again.
    """
    if subprocess.run(["pidof", "virtlogd"], capture_output=True).returncode != 0:
        subprocess.run(["virtlogd", "-d"], check=True, timeout=30)
    if libvirtd_pid() is None:
        subprocess.run(["libvirtd", "-d"], check=True, timeout=30)
    deadline = time.monotonic() + timeout
    while not libvirtd_answers():
        if time.monotonic() > deadline:
            raise RuntimeError("libvirtd did not answer after a restart")
        time.sleep(0.5)
    info = virsh("net-info", "default", check=False).stdout
    if "Active:" in info and "yes" not in info.split("Active:")[1].splitlines()[0]:
        virsh("net-start", "default", check=False)


@contextlib.contextmanager
def libvirtd_frozen() -> Iterator[int]:
    """libvirtd stopped with SIGSTOP for the block: its clients block in their calls. Always resumed."""
    import signal

    pid = libvirtd_pid()
    require(pid is not None, "needs a running libvirtd")
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def libvirtd_down() -> Iterator[None]:
    """libvirtd not running for the block (stopped by its pid); started again after it, whatever happened.

    Running guests survive: their QEMU processes are not libvirtd's, and the
    restarted daemon reconnects to them.
    """
    import signal

    pid = libvirtd_pid()
    require(pid is not None, "needs a running libvirtd")
    assert pid is not None
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            while Path(f"/proc/{pid}").exists():
                time.sleep(0.2)
        yield
    finally:
        libvirtd_ensure_running()


def vm_request(team: Team, member: Any, image: Image, name: str, **sizes: int) -> ResourceRequest:
    """A member's ask for a tiny VM (96 MiB, 1 vCPU, 1 GiB unless told), through the service pages call."""
    from portal.services import request_submit

    return request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name=name,
        vcpus=sizes.get("vcpus", 1),
        memory_mib=sizes.get("memory_mib", 96),
        disk_gib=sizes.get("disk_gib", 1),
        justification="integration test",
        spec={"image_id": image.pk},
    )


def vm_build(team: Team, member: Any, image: Image, name: str, log: Callable[[], str], timeout: float = 180) -> Any:
    """Ask for a tiny VM, approve it as an administrator and wait until a running worker built it.

    ``log`` gives the worker's log for the failure message. Returns the VM row.
    """
    from hypervisors.models import VirtualMachine
    from portal.choices import JobState
    from portal.services import request_approve

    request = vm_request(team, member, image, name)
    admin = UserFactory(username=f"approver-{name}", is_staff=True, is_superuser=True)
    job = job_wait(request_approve(actor=admin, request_id=request.pk).pk, timeout, f"the build of {name}")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{log()}"
    return VirtualMachine.objects.get(request=request)


def live_team_domains_remove(team_slug: str) -> None:
    """Remove a test team's domains (named ``<slug>.<vm>``), their disks and its networks, over a fresh connection."""
    conn = libvirt.open("qemu:///system")
    try:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(f"{team_slug}."):
                domain_remove(conn, domain)
        networks_remove(conn, f"{team_slug}.")
    finally:
        conn.close()


@pytest.fixture
def qemu_host_restartable(transactional_db, live_team) -> Iterator[Host]:
    """``qemu_host`` for tests that stop or restart libvirtd.

    It keeps no connection open during the test (one held across a restart of
    libvirtd is broken afterwards); it makes sure libvirtd runs again, then
    removes the team's domains and disks over a fresh connection.
    """
    require(libvirt_system_available(), "needs libvirtd with qemu:///system")
    host = host_probe(host_id=Host.objects.create(name="local", uri="qemu:///system").pk)
    assert host.is_reachable, host.last_error
    host.storage_pool, host.storage_path, host.network = TEST_POOL, TEST_POOL_PATH, "default"
    conn = libvirt.open("qemu:///system")
    try:
        network = conn.networkLookupByName("default")
        if not network.isActive():
            network.create()
    finally:
        conn.close()
    host.save()
    team_network_pool_create(live_team.slug)
    try:
        yield host
    finally:
        libvirtd_ensure_running()
        live_team_domains_remove(live_team.slug)
