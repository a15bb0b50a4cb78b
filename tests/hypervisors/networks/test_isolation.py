"""Teams apart on a hypervisor host: every VM network card carries libvirt's ``clean-traffic`` filter, and a VM
asked for without a network joins its team's own NAT network on its host (made in the worker on first use,
with a subnet from the address pools, counted in no quota), never the host's shared ``default`` network unless
an admin shared it.

On libvirt's test driver (it keeps ``filterref`` but has no network filters to ask); the real filter and
network are proven on ``qemu:///system`` in tests/integration/test_isolation.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import libvirt
import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind, NetworkKind, NetworkState
from hypervisors.drivers import DomainSpec, InterfaceSpec
from hypervisors.drivers.domain_xml import domain_xml, interface_xml
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from hypervisors.models import AddressPool, VirtualMachine, VirtualNetwork
from hypervisors.networks.services import team_network_ensure
from hypervisors.vms import provisioning
from portal.amounts import Amounts
from portal.choices import JobState, RequestState
from portal.models import ResourceRequest
from portal.quotas import quota_check, teams_usage
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, MembershipFactory, TeamFactory, UserFactory

# --- the XML ---


def domain(*cards: InterfaceSpec) -> ET.Element:
    spec = DomainSpec(
        uuid="6f1c0e4e-8a39-4d59-9f1e-0d4d6f3f2a11", name="blue.web", domain_type="test", vcpus=1, memory_mib=64,
        disk_path="/pool/disk.qcow2", kernel_path="/images/vmlinuz", interfaces=cards,
    )  # fmt: skip
    return ET.fromstring(domain_xml(spec))


def test_every_card_on_a_libvirt_network_carries_the_clean_traffic_filter():
    root = domain(InterfaceSpec(mac="52:54:00:00:00:01", network="blue.lab"), InterfaceSpec(mac="52:54:00:00:00:02"))
    interfaces = root.findall("devices/interface")
    assert len(interfaces) == 2
    for interface in interfaces:
        filters = interface.findall("filterref")
        assert [f.get("filter") for f in filters] == ["clean-traffic"]
        assert filters[0].findall("parameter") == [], "no IP given: libvirt learns it from the guest's DHCP"


def test_a_card_attached_later_carries_the_filter_too():
    card = ET.fromstring(interface_xml(InterfaceSpec(mac="52:54:00:00:00:03", network="blue.lab")))
    assert card.find("filterref").get("filter") == "clean-traffic"


def test_user_mode_cards_have_no_host_device_to_filter():
    root = domain(InterfaceSpec(mac="52:54:00:00:00:04", user_mode=True))
    assert root.find("devices/interface").get("type") == "user"
    assert root.find("devices/interface/filterref") is None


def test_a_filter_name_is_escaped_like_every_other_value():
    card = interface_xml(InterfaceSpec(mac="52:54:00:00:00:05", network="n", traffic_filter="a'/><x y='"))
    assert ET.fromstring(card).find("filterref").get("filter") == "a'/><x y='"


# --- the team's own network row ---


@pytest.fixture
def pool(db) -> AddressPool:
    AddressPool.objects.all().delete()
    return AddressPool.objects.create(name="lab", cidr="10.213.0.0/23", subnet_prefix=24)


def test_team_network_is_made_once_per_team_and_host_with_a_subnet_from_a_pool(pool):
    team, other = TeamFactory(), TeamFactory()
    host, second_host = HostFactory(name="Rack 1/a"), HostFactory(uri="test:///default?second")

    network = team_network_ensure(team=team, host=host)
    assert team_network_ensure(team=team, host=host) == network, "idempotent"
    assert (network.is_team_default, network.kind, network.state) == (True, NetworkKind.NAT, NetworkState.BUILDING)
    assert network.name == "team_rack-1-a" and network.libvirt_name == f"{team.slug}.team_rack-1-a"
    assert network.subnet == "10.213.0.0/24"
    assert team_network_ensure(team=other, host=host).subnet == "10.213.1.0/24", "never overlapping on a host"
    assert team_network_ensure(team=team, host=second_host).subnet == "10.213.0.0/24", "another host, its own plan"
    assert VirtualNetwork.objects.filter(team=team, is_team_default=True).count() == 2


def test_team_networks_are_counted_in_no_quota(pool):
    team = TeamFactory()
    team.quota.network_count = 1
    team.quota.save()
    team_network_ensure(team=team, host=HostFactory())
    team_network_ensure(team=team, host=HostFactory(uri="test:///default?second"))
    assert teams_usage([team])[team.pk].used.network_count == 0
    quota_check(team=team, demand=Amounts(network_count=1), include_pending=True)  # its one network still fits


def test_without_an_address_pool_the_error_says_what_to_add(db):
    AddressPool.objects.all().delete()
    with pytest.raises(ValidationError) as refused:
        team_network_ensure(team=TeamFactory(), host=HostFactory())
    assert "an administrator must add an address pool" in refused.value.messages[0]
    assert not VirtualNetwork.objects.exists()


def test_with_every_pool_used_up_the_error_says_so(pool):
    host = HostFactory()
    team_network_ensure(team=TeamFactory(), host=host)
    team_network_ensure(team=TeamFactory(), host=host)
    with pytest.raises(ValidationError) as refused:
        team_network_ensure(team=TeamFactory(), host=host)
    assert f"Every address pool is used up on host {host}" in refused.value.messages[0]


# --- provisioning on the test driver ---


@pytest.fixture
def conn(libvirt_test_host) -> Iterator[libvirt.virConnect]:
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


@pytest.fixture
def build(staff, image, libvirt_test_host):
    """Ask for a VM without a network for a team, approve it, and run its provisioning job here."""

    def make(team, name="web", network_ids=()):
        member = UserFactory()
        MembershipFactory(user=member, team=team)
        request = request_submit(
            actor=member, team=team, kind=HypervisorKind.VM, name=name, vcpus=1, memory_mib=64, disk_gib=1,
            justification="tests", spec={"image_id": image.pk, "network_ids": list(network_ids)},
        )  # fmt: skip
        job = request_approve(actor=staff, request_id=request.pk)
        provisioning.vm_provision(job_id=job.pk)
        job.refresh_from_db()
        return job

    return make


def card_networks(conn, vm: VirtualMachine) -> list[tuple[str, str]]:
    root = ET.fromstring(conn.lookupByUUIDString(str(vm.uuid)).XMLDesc())
    return [
        (interface.find("source").get("network"), interface.find("filterref").get("filter"))
        for interface in root.findall("devices/interface")
    ]


def test_a_vm_without_a_network_joins_its_teams_own_network_made_on_the_host(build, conn, libvirt_test_host):
    blue, red = TeamFactory(slug="blue"), TeamFactory(slug="red")
    first, second, other = build(blue, "web"), build(blue, "db"), build(red, "web")
    assert [job.state for job in (first, second, other)] == [JobState.SUCCEEDED] * 3, first.error or other.error

    blue_network = VirtualNetwork.objects.get(team=blue, is_team_default=True)
    red_network = VirtualNetwork.objects.get(team=red, is_team_default=True)
    assert blue_network.state == red_network.state == NetworkState.ACTIVE
    assert conn.networkLookupByUUIDString(str(blue_network.uuid)).isActive()
    assert blue_network.subnet != red_network.subnet
    for job, network in ((first, blue_network), (second, blue_network), (other, red_network)):
        vm = VirtualMachine.objects.get(request_id=job.request_id)
        assert card_networks(conn, vm) == [(network.libvirt_name, "clean-traffic")]
        assert list(vm.interfaces.values_list("network", flat=True)) == [network.pk]
    assert f"Joining team network {blue_network.libvirt_name} ({blue_network.subnet})" in [
        step["message"] for step in first.log
    ]
    assert VirtualNetwork.objects.filter(is_team_default=True).count() == 2, "made once per team"
    assert "default" not in [name for job in (first, other) for name, _ in card_networks(
        conn, VirtualMachine.objects.get(request_id=job.request_id))]  # fmt: skip


def test_the_hosts_network_is_used_only_once_an_admin_shared_it(build, conn, libvirt_test_host):
    shared = VirtualNetwork.objects.create(
        host=libvirt_test_host, team=None, name="default", libvirt_name="default", kind=NetworkKind.NAT,
        subnet="192.168.122.0/24", state=NetworkState.ACTIVE,
    )  # fmt: skip
    job = build(TeamFactory(slug="blue"))
    assert job.state == JobState.SUCCEEDED, job.error
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    assert card_networks(conn, vm) == [("default", "clean-traffic")]
    assert list(vm.interfaces.values_list("network", flat=True)) == [shared.pk]
    assert not VirtualNetwork.objects.filter(is_team_default=True).exists()


def test_a_vm_asked_on_a_network_does_not_get_the_team_network(build, conn, libvirt_test_host):
    team = TeamFactory(slug="blue")
    lab = VirtualNetwork.objects.create(
        host=libvirt_test_host, team=team, name="lab", kind=NetworkKind.ISOLATED, subnet="10.214.0.0/24",
        state=NetworkState.ACTIVE,
    )  # fmt: skip
    with LibvirtDriver(libvirt_test_host.uri) as driver:
        from hypervisors.networks.provisioning import network_make

        network_make(driver, lab)
    job = build(team, network_ids=[lab.pk])
    assert job.state == JobState.SUCCEEDED, job.error
    assert card_networks(conn, VirtualMachine.objects.get(request_id=job.request_id)) == [
        (lab.libvirt_name, "clean-traffic")
    ]
    assert not VirtualNetwork.objects.filter(is_team_default=True).exists()


def test_without_an_address_pool_the_build_fails_clearly_and_frees_the_quota(build, conn):
    AddressPool.objects.all().delete()
    team = TeamFactory(slug="blue")
    job = build(team)
    assert job.state == JobState.FAILED
    assert "an administrator must add an address pool" in job.error
    request = ResourceRequest.objects.get(pk=job.request_id)
    assert request.state == RequestState.FAILED
    assert not VirtualMachine.objects.exists()
    assert teams_usage([team])[team.pk].used.vm_count == 0


def test_a_host_without_the_filter_fails_the_build_naming_it(build, conn, monkeypatch):
    """libvirt's test driver has no filters to ask; a host whose nwfilter driver lacks clean-traffic answers False."""
    monkeypatch.setattr(LibvirtDriver, "network_filter_present", lambda self, name: False)
    job = build(TeamFactory(slug="blue"))
    assert job.state == JobState.FAILED
    assert "no libvirt network filter 'clean-traffic'" in job.error
    assert not VirtualMachine.objects.exists()


def test_the_test_driver_cannot_tell_whether_a_filter_exists(libvirt_test_host):
    with LibvirtDriver(libvirt_test_host.uri) as driver:
        assert driver.network_filter_present("clean-traffic") is None
