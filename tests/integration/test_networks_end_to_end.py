"""VM networks on the real stack: team networks asked for, approved and built by a worker on ``qemu:///system``;
a VM on one of them; a card attached and detached while the VM runs; the reconcile reading leases.

Checked through libvirt (network and domain XML, bridges in /sys/class/net), never by reaching a guest's address.
Every network and domain made here is named ``<live team slug>...`` and removed afterwards, whatever happened.
"""

from __future__ import annotations

import html
import ipaddress
import random
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt
import pytest
from django.test import Client

from hypervisors.drivers import driver_for
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.models import AddressPool, Host, VirtualMachine, VirtualNetwork, VMInterface
from hypervisors.vms.actions import ACTIONS
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from portal.services import request_approve
from tests.factories import UserFactory
from tests.support.processes import job_wait
from tests.support.qemu import console_log, live_team_domains_remove
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

#: Seconds a network or VM build may take under software emulation on a busy machine.
BUILD_TIMEOUT = 180
#: Seconds one card change may take.
ACTION_TIMEOUT = 120
#: Seconds the tiny guest may take to boot under emulation (it answers hot-unplug requests once booted).
BOOT_TIMEOUT = 120
#: What the tiny guest's init prints once booted (scripts/build-guest-image.sh).
GUEST_BANNER = "portal-guest: booted"


@contextmanager
def system() -> Iterator[libvirt.virConnect]:
    conn = libvirt.open("qemu:///system")
    try:
        yield conn
    finally:
        conn.close()


def ranges_in_use() -> list[ipaddress.IPv4Network]:
    """IPv4 ranges of the host's libvirt networks and routes: a test network must not meet any of them."""
    found = []
    with system() as conn:
        for network in conn.listAllNetworks(0):
            for ip in ET.fromstring(network.XMLDesc(0)).findall("ip"):
                address, netmask, prefix = ip.get("address"), ip.get("netmask"), ip.get("prefix")
                if address and (netmask or prefix) and ":" not in address:
                    found.append(ipaddress.IPv4Network(f"{address}/{netmask or prefix}", strict=False))
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    for line in routes.splitlines():
        first = line.split()[0]
        if first != "default":
            found.append(ipaddress.IPv4Network(first if "/" in first else f"{first}/32", strict=False))
    return found


def free_block() -> str:
    """A /22 from 10.213.0.0/16 or 10.214.0.0/16 that nothing on this host uses now (picked at random:
    other test runs may be using some of these ranges at the same time)."""
    taken = ranges_in_use()
    candidates = [ipaddress.IPv4Network(f"10.{b}.{c}.0/22") for b in (213, 214) for c in range(0, 256, 4)]
    random.shuffle(candidates)
    for candidate in candidates:
        if not any(candidate.overlaps(network) for network in taken):
            return str(candidate)
    pytest.skip("no free /22 in 10.213.0.0/16 or 10.214.0.0/16 on this host")


@pytest.fixture
def networks_cleanup(qemu_host, live_team) -> Iterator[None]:
    """Remove the team's domains, then its libvirt networks (names starting with its slug), whatever happened.

    Over fresh connections, retried once: another test run may restart libvirtd meanwhile.
    """
    try:
        yield
    finally:
        for attempt in range(2):
            try:
                live_team_domains_remove(live_team.slug)
                with system() as conn:
                    for network in conn.listAllNetworks(0):
                        if network.name().startswith(live_team.slug):
                            if network.isActive():
                                network.destroy()
                            network.undefine()
                break
            except libvirt.libvirtError:
                if attempt:
                    raise
                time.sleep(5)


@pytest.fixture
def pool(transactional_db) -> AddressPool:
    return AddressPool.objects.create(name="it", cidr=free_block(), subnet_prefix=24)


@pytest.fixture
def quota(live_team):
    live_team.quota.network_count = 3
    live_team.quota.save()
    return live_team


@pytest.fixture
def admin(transactional_db):
    return UserFactory(username="netadmin", is_staff=True, is_superuser=True)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def libvirt_network(name: str) -> tuple[bool, ET.Element, str]:
    """(active, XML, bridge) of a libvirt network by name."""
    with system() as conn:
        network = conn.networkLookupByName(name)
        return bool(network.isActive()), ET.fromstring(network.XMLDesc(0)), network.bridgeName()


def ask_network_on_the_page(member_client: Client, team, name: str, kind: str) -> ResourceRequest:
    response = member_client.post(
        "/networks/vm/new/",
        {"name": name, "team": team.pk, "network_kind": kind, "pool": "", "justification": "integration test"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return ResourceRequest.objects.get(team=team, name=name)


def built_network(request: ResourceRequest, worker) -> VirtualNetwork:
    job = Job.objects.get(request=request)
    job = job_wait(job.pk, BUILD_TIMEOUT, f"the build of network {request.name}")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{worker.log()}"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    return VirtualNetwork.objects.get(request=request)


def test_nat_and_isolated_team_networks_run_on_qemu(
    qemu_host, live_team, live_member, quota, pool, admin, networks_cleanup, celery_worker_process
):
    member_client = client_of(live_member)
    nat_request = ask_network_on_the_page(member_client, live_team, "outside", "nat")
    iso_request = ask_network_on_the_page(member_client, live_team, "backend", "isolated")
    response = client_of(admin).post(
        "/admin/portal/resourcerequest/",
        {"action": "approve_selected", "index": "0", "_selected_action": [nat_request.pk, iso_request.pk]},
    )
    assert response.status_code == 302
    nat = built_network(nat_request, celery_worker_process)
    iso = built_network(iso_request, celery_worker_process)
    block = ipaddress.IPv4Network(pool.cidr)
    subnets = [ipaddress.IPv4Network(nat.subnet), ipaddress.IPv4Network(iso.subnet)]
    assert all(subnet.subnet_of(block) for subnet in subnets)
    assert not subnets[0].overlaps(subnets[1])

    for network, forward in ((nat, "nat"), (iso, None)):
        assert network.libvirt_name == f"{live_team.slug}.{network.name}"
        assert network.state == "active"
        active, root, bridge = libvirt_network(network.libvirt_name)
        assert active
        assert root.findtext("uuid") == str(network.uuid)
        forward_element = root.find("forward")
        assert (forward_element.get("mode") if forward_element is not None else None) == forward
        subnet = ipaddress.IPv4Network(network.subnet)
        assert root.find("ip").get("address") == str(subnet.network_address + 1)
        assert root.find("ip/dhcp/range").get("end") == str(subnet.broadcast_address - 1)
        assert bridge and Path(f"/sys/class/net/{bridge}").exists(), f"bridge {bridge!r} of {network} is up"

    # An administrator adding a network with the same range (or one containing it) is refused by the form.
    for subnet in (nat.subnet, pool.cidr):
        response = client_of(admin).post(
            "/admin/hypervisors/virtualnetwork/add/",
            {
                "host": qemu_host.pk, "team": "", "name": f"{live_team.slug}-dup", "kind": "nat", "subnet": subnet,
                "bridge": "", "autostart": "on",
            },
        )  # fmt: skip
        assert response.status_code == 200
        page = html.unescape(response.content.decode())
        assert f"{subnet} overlaps" in page and "; pick another range." in page
        if subnet == nat.subnet:
            assert f"{subnet} overlaps {nat.subnet} of network {nat} on host {qemu_host}" in page
    assert not VirtualNetwork.objects.filter(name=f"{live_team.slug}-dup").exists()
    with system() as conn:
        assert f"{live_team.slug}-dup" not in [network.name() for network in conn.listAllNetworks(0)]

    # The reconcile sees them running.
    report = host_reconcile(host_id=qemu_host.pk)
    assert report.reachable
    assert set(VirtualNetwork.objects.values_list("state", flat=True)) == {"active"}


def card_change(client: Client, vm: VirtualMachine, slug: str, network: VirtualNetwork) -> Job:
    """Ask for a card change through the VM page, as its Attach/Detach buttons do; return its job."""
    response = client.post(f"/vms/{vm.uuid}/interfaces/{slug}/", {"network": network.pk})
    assert response.status_code == 302, response.content.decode()[-2000:]
    action = ACTIONS[slug].job_action
    return Job.objects.filter(action=action, target_id=str(vm.pk)).latest("created_at")


def interfaces_of(vm: VirtualMachine, flags: int = 0) -> list[tuple[str, str, str]]:
    """(type, source network, MAC) of each card in the domain's live (or, with flags, stored) XML."""
    with system() as conn:
        root = ET.fromstring(conn.lookupByUUIDString(str(vm.uuid)).XMLDesc(flags))
    return [
        (i.get("type"), i.find("source").get("network"), i.find("mac").get("address").lower())
        for i in root.findall("devices/interface")
    ]


def test_vm_on_a_team_network_gets_a_card_attached_and_detached_live(
    qemu_host, guest_image, live_team, live_member, quota, pool, admin, networks_cleanup, celery_worker_process
):
    member_client = client_of(live_member)
    nat_request = ask_network_on_the_page(member_client, live_team, "outside", "nat")
    iso_request = ask_network_on_the_page(member_client, live_team, "backend", "isolated")
    for request in (nat_request, iso_request):
        request_approve(actor=admin, request_id=request.pk)
    nat = built_network(nat_request, celery_worker_process)
    iso = built_network(iso_request, celery_worker_process)

    # The VM is asked for on the NAT network through the page.
    response = member_client.post(
        "/vms/new/",
        {
            "name": "web", "team": live_team.pk, "image": guest_image.pk, "vcpus": 1, "memory_mib": 96,
            "disk_gib": 1, "networks": [nat.pk], "justification": "integration test",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-2000:]
    vm_request = ResourceRequest.objects.get(team=live_team, name="web")
    job = request_approve(actor=admin, request_id=vm_request.pk)
    vm = VirtualMachine.objects.get(request=vm_request)
    assert vm.host == qemu_host
    (nat_card,) = vm.interfaces.all()
    job = job_wait(job.pk, BUILD_TIMEOUT, "the VM build")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    assert interfaces_of(vm) == [("network", nat.libvirt_name, nat_card.mac)]
    assert interfaces_of(vm, libvirt.VIR_DOMAIN_XML_INACTIVE) == [("network", nat.libvirt_name, nat_card.mac)]
    nat_card.refresh_from_db()
    assert nat_card.attached

    # Hot-unplug needs a guest that answers; wait until it has booted.
    console = console_log(vm.domain_name)
    wait_until(
        lambda: console.exists() and GUEST_BANNER in console.read_text(errors="replace"),
        BOOT_TIMEOUT,
        "the guest's boot banner",
    )

    # Attach to the isolated network while the VM runs.
    job = card_change(member_client, vm, "interface-attach", iso)
    mac = VMInterface.objects.get(vm=vm, network=iso).mac
    assert job.params == {"network_id": iso.pk, "mac": mac}
    job = job_wait(job.pk, ACTION_TIMEOUT, "the attach")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    assert job.log[-1]["message"].endswith("live")
    assert ("network", iso.libvirt_name, mac) in interfaces_of(vm)
    assert ("network", iso.libvirt_name, mac) in interfaces_of(vm, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert VMInterface.objects.get(vm=vm, mac=mac).attached

    # The reconcile reads the networks' leases without error (the busybox guest asks for no DHCP address).
    with driver_for(qemu_host.uri) as driver:
        for network in (nat, iso):
            assert isinstance(driver.network_leases(network.libvirt_name), dict)
    report = host_reconcile(host_id=qemu_host.pk)
    assert report.reachable
    assert Host.objects.get(pk=qemu_host.pk).is_reachable
    assert all(isinstance(card.ip_addresses, list) for card in VMInterface.objects.filter(vm=vm))

    # Detach it again: gone from the running guest and from its configuration.
    job = job_wait(card_change(member_client, vm, "interface-detach", iso).pk, ACTION_TIMEOUT, "the detach")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    wait_until(
        lambda: mac not in [card[2] for card in interfaces_of(vm)], ACTION_TIMEOUT, "the card to leave the guest"
    )
    assert interfaces_of(vm, libvirt.VIR_DOMAIN_XML_INACTIVE) == [("network", nat.libvirt_name, nat_card.mac)]
    assert interfaces_of(vm) == [("network", nat.libvirt_name, nat_card.mac)]
    assert not VMInterface.objects.filter(vm=vm, mac=mac).exists()
    with system() as conn:
        assert conn.lookupByUUIDString(str(vm.uuid)).state()[0] == libvirt.VIR_DOMAIN_RUNNING
