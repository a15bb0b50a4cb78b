"""VM networks: the XML libvirt gets, the address plan, the admin form, team networks through the request
path, VM network cards, and the reconcile of network states and leases.

Where a driver is involved it is libvirt's ``test:///default`` (``libvirt_test_host``): it defines, starts,
stops and lists networks, but has no DHCP leases and cannot attach devices.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from hypervisors.admin import VirtualNetworkForm
from hypervisors.choices import HypervisorKind, NetworkJobAction, NetworkKind, NetworkState, VMJobAction
from hypervisors.drivers import NetworkSpec, NetworkStatus, driver_for
from hypervisors.drivers.domain_xml import (
    domain_interface_by_mac,
    domain_macs,
    domain_xml,
    network_leases_parse,
    network_xml,
)
from hypervisors.hosts.inventory import _reconcile_networks, host_reconcile
from hypervisors.models import AddressPool, VirtualMachine, VirtualNetwork, VMInterface
from hypervisors.networks import provisioning as network_kind
from hypervisors.networks.addressing import subnet_allocate, subnet_check_free
from hypervisors.networks.operations import network_operate
from hypervisors.networks.provisioning import network_spec
from hypervisors.networks.selectors import networks_usable_by
from hypervisors.networks.services import network_action_request, network_register
from hypervisors.vms import provisioning
from hypervisors.vms.forms import VMRequestForm
from hypervisors.vms.operations import vm_operate
from hypervisors.vms.services import vm_interface_request
from portal.actions import ActionRefused
from portal.choices import JobState, RequestState, Role
from portal.models import Job, ResourceRequest, Team
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, MembershipFactory, TeamFactory, VirtualMachineFactory
from tests.support.pages import csrf_post, text
from tests.support.rows import usage_of

pytestmark = pytest.mark.django_db

MAC = re.compile(r"\A52:54:00(:[0-9a-f]{2}){3}\Z")


@pytest.fixture
def host(libvirt_test_host):
    return libvirt_test_host


@pytest.fixture
def pool(db) -> AddressPool:
    return AddressPool.objects.create(name="lab", cidr="10.213.0.0/16", subnet_prefix=24)


@pytest.fixture
def network_quota(team) -> Team:
    """The team may hold two networks (the factories' quota allows none)."""
    team.quota.network_count = 2
    team.quota.save()
    return team


def other_host(name, **values):
    """A host row that is never contacted (its URI leads nowhere)."""
    return HostFactory(name=name, uri=f"qemu+tcp://127.0.0.1:1/{name}", **values)


def make_network(host, team=None, name="net", kind=NetworkKind.NAT, subnet="10.213.0.0/24", **values):
    values.setdefault("state", NetworkState.ACTIVE)
    return VirtualNetwork.objects.create(host=host, team=team, name=name, kind=kind, subnet=subnet, **values)


def bring_up(network: VirtualNetwork) -> None:
    """Define and start a network row's libvirt network on its host, as the worker does."""
    with driver_for(network.host.uri) as driver:
        driver.network_define(network_spec(network))
        driver.network_start(str(network.uuid), autostart=True)


def jobs_on(resource) -> list[Job]:
    return list(Job.objects.filter(target_id=str(resource.pk), target_type__model=resource._meta.model_name))


# --- the network XML libvirt gets ---


def spec_of(kind, subnet="", bridge="", name="blue.net") -> NetworkSpec:
    row = VirtualNetwork(name="net", kind=kind, subnet=subnet, bridge=bridge, libvirt_name=name)
    return network_spec(row)


@pytest.mark.parametrize(
    ("kind", "forward"),
    [(NetworkKind.NAT, "nat"), (NetworkKind.ISOLATED, None), (NetworkKind.ROUTED, "route")],
)
def test_addressed_network_xml_has_gateway_and_dhcp_range(kind, forward):
    spec = spec_of(kind, subnet="10.213.7.0/24")
    root = ET.fromstring(network_xml(spec))
    assert root.tag == "network"
    assert root.findtext("name") == "blue.net"
    assert root.findtext("uuid") == spec.uuid
    forward_element = root.find("forward")
    assert (forward_element.get("mode") if forward_element is not None else None) == forward
    ip = root.find("ip")
    assert (ip.get("address"), ip.get("netmask")) == ("10.213.7.1", "255.255.255.0")
    dhcp_range = ip.find("dhcp/range")
    assert (dhcp_range.get("start"), dhcp_range.get("end")) == ("10.213.7.2", "10.213.7.254")
    assert root.find("bridge") is None, "libvirt picks the bridge name of an addressed network"
    assert root.find("virtualport") is None


@pytest.mark.parametrize(
    ("subnet", "gateway", "first", "last"),
    [
        ("10.213.0.0/16", "10.213.0.1", "10.213.0.2", "10.213.255.254"),
        ("10.213.4.0/22", "10.213.4.1", "10.213.4.2", "10.213.7.254"),
        ("10.213.9.64/26", "10.213.9.65", "10.213.9.66", "10.213.9.126"),
        ("10.213.9.4/30", "10.213.9.5", "10.213.9.6", "10.213.9.6"),
    ],
)
def test_dhcp_range_runs_from_after_the_gateway_to_the_last_host(subnet, gateway, first, last):
    ip = ET.fromstring(network_xml(spec_of(NetworkKind.NAT, subnet=subnet))).find("ip")
    assert ip.get("address") == gateway
    assert ip.get("netmask") == str(ipaddress.IPv4Network(subnet).netmask)
    assert (ip.find("dhcp/range").get("start"), ip.find("dhcp/range").get("end")) == (first, last)


def test_bridged_network_xml_uses_the_host_bridge_without_addresses():
    root = ET.fromstring(network_xml(spec_of(NetworkKind.BRIDGED, bridge="br0")))
    assert root.find("forward").get("mode") == "bridge"
    assert root.find("bridge").get("name") == "br0"
    assert root.find("ip") is None
    assert root.find("virtualport") is None


def test_openvswitch_network_xml_has_the_virtualport():
    root = ET.fromstring(network_xml(spec_of(NetworkKind.OPENVSWITCH, bridge="ovsbr0")))
    assert root.find("forward").get("mode") == "bridge"
    assert root.find("bridge").get("name") == "ovsbr0"
    assert root.find("virtualport").get("type") == "openvswitch"
    assert root.find("ip") is None


@pytest.mark.parametrize(
    "name",
    ["a<b>&\"c'", "x</name><forward mode='bridge'/><name>y", "]]><!-- -->", "ünïcødé net"],
)
def test_odd_names_are_escaped_not_markup(name):
    document = network_xml(spec_of(NetworkKind.ISOLATED, subnet="10.213.8.0/24", name=name))
    root = ET.fromstring(document)
    assert root.findtext("name") == name
    assert [child.tag for child in root] == ["name", "uuid", "ip"], "no element smuggled in through the name"


@pytest.mark.parametrize(
    ("kind", "subnet", "bridge", "forward"),
    [
        (NetworkKind.NAT, "10.213.1.0/24", "", "nat"),
        (NetworkKind.ISOLATED, "10.213.2.0/24", "", None),
        (NetworkKind.ROUTED, "10.213.3.0/24", "", "route"),
        (NetworkKind.BRIDGED, "", "br0", "bridge"),
        (NetworkKind.OPENVSWITCH, "", "ovsbr0", "bridge"),
    ],
)
def test_every_kind_is_accepted_by_libvirt_and_reads_back(conn, host, kind, subnet, bridge, forward):
    network = make_network(host, name=f"n-{kind}", kind=kind, subnet=subnet, bridge=bridge)
    bring_up(network)
    found = conn.networkLookupByUUIDString(str(network.uuid))
    assert found.name() == network.libvirt_name
    assert found.isActive()
    assert found.autostart()
    root = ET.fromstring(found.XMLDesc(0))
    forward_element = root.find("forward")
    assert (forward_element.get("mode") if forward_element is not None else None) == forward
    if subnet:
        net = ipaddress.IPv4Network(subnet)
        assert root.find("ip").get("address") == str(net.network_address + 1)
        dhcp_range = root.find("ip/dhcp/range")
        assert dhcp_range.get("start") == str(net.network_address + 2)
        assert dhcp_range.get("end") == str(net.broadcast_address - 1)
    else:
        assert root.find("bridge").get("name") == bridge
    if kind == NetworkKind.OPENVSWITCH:
        assert root.find("virtualport").get("type") == "openvswitch"


def test_a_name_with_odd_characters_reaches_libvirt_intact(conn, host):
    name = "odd <net> & \"co'"
    network = make_network(host, name=name, subnet="10.213.4.0/24")
    assert network.libvirt_name == name
    bring_up(network)
    assert conn.networkLookupByUUIDString(str(network.uuid)).name() == name


def test_network_driver_calls_are_idempotent(conn, host):
    network = make_network(host, subnet="10.213.5.0/24")
    with driver_for(host.uri) as driver:
        for _ in range(2):
            driver.network_define(network_spec(network))
            driver.network_start(str(network.uuid), autostart=False)
        assert not conn.networkLookupByUUIDString(str(network.uuid)).autostart()
        for _ in range(2):
            driver.network_stop(str(network.uuid))
        assert not conn.networkLookupByUUIDString(str(network.uuid)).isActive()
        for _ in range(2):
            driver.network_delete(str(network.uuid))
        assert str(network.uuid) not in {status.uuid for status in driver.networks_list()}
        assert driver.network_leases(network.libvirt_name) == {}, "an absent network has no leases"


# --- the address plan ---


def test_subnet_allocate_hands_out_non_overlapping_subnets_until_full(host, team):
    small = AddressPool.objects.create(name="small", cidr="10.213.0.0/22", subnet_prefix=24)
    handed = []
    for index in range(4):
        subnet = subnet_allocate(host=host, pool=small)
        make_network(host, team, name=f"n{index}", subnet=subnet)
        handed.append(ipaddress.IPv4Network(subnet))
    assert [str(s) for s in handed] == ["10.213.0.0/24", "10.213.1.0/24", "10.213.2.0/24", "10.213.3.0/24"]
    assert all(not a.overlaps(b) for i, a in enumerate(handed) for b in handed[i + 1 :])
    with pytest.raises(ValidationError) as full:
        subnet_allocate(host=host, pool=small)
    message = " ".join(full.value.messages)
    assert "small (10.213.0.0/22)" in message
    assert "no free /24" in message
    assert host.name in message


def test_subnet_allocate_skips_ranges_taken_on_the_host_only(host, team):
    pool = AddressPool.objects.create(name="p", cidr="10.213.0.0/16", subnet_prefix=24)
    make_network(host, None, name="admins", subnet="10.213.0.0/23")  # covers the first two /24s
    make_network(host, team, name="bridged", kind=NetworkKind.BRIDGED, subnet="", bridge="br0")
    assert subnet_allocate(host=host, pool=pool) == "10.213.2.0/24"
    elsewhere = other_host("other")
    assert subnet_allocate(host=elsewhere, pool=pool) == "10.213.0.0/24", "another host's ranges do not count"


def test_subnet_allocate_skips_a_wider_network_that_contains_the_candidates(host):
    pool = AddressPool.objects.create(name="p", cidr="10.213.0.0/16", subnet_prefix=24)
    make_network(host, name="wide", subnet="10.213.0.0/17")
    assert subnet_allocate(host=host, pool=pool) == "10.213.128.0/24"


@pytest.mark.parametrize(("taken", "wanted"), [("10.213.0.0/16", "10.213.5.0/24"), ("10.213.5.0/24", "10.213.0.0/16")])
def test_subnet_check_free_refuses_overlaps_with_a_clear_message(host, taken, wanted):
    existing = make_network(host, name="lab", subnet=taken)
    with pytest.raises(ValidationError) as refused:
        subnet_check_free(host=host, subnet=wanted)
    assert list(refused.value.message_dict) == ["subnet"]
    message = refused.value.message_dict["subnet"][0]
    assert message == (f"{wanted} overlaps {taken} of network {existing} on host {host}; pick another range."), message
    subnet_check_free(host=host, subnet=wanted, exclude_id=existing.pk)  # the network itself, when it is edited


def test_subnet_check_free_accepts_neighbours_and_other_hosts(host):
    make_network(host, name="lab", subnet="10.213.0.0/16")
    subnet_check_free(host=host, subnet="10.214.0.0/24")
    subnet_check_free(host=host, subnet="10.212.255.0/24")
    subnet_check_free(host=other_host("elsewhere"), subnet="10.213.5.0/24")


# --- admins add networks: the admin form ---


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


NETWORK_ADD = "/admin/hypervisors/virtualnetwork/add/"


def add_form(host, **values):
    return {
        "host": str(host.pk),
        "team": "",
        "name": "lab",
        "kind": NetworkKind.NAT,
        "subnet": "10.213.0.0/24",
        "bridge": "",
        "autostart": "on",
        **values,
    }


def test_form_refuses_an_overlapping_subnet(host):
    existing = make_network(host, name="wide", subnet="10.213.0.0/16")
    form = VirtualNetworkForm(data=add_form(host, subnet="10.213.5.0/24"))
    assert not form.is_valid()
    assert (
        f"10.213.5.0/24 overlaps 10.213.0.0/16 of network {existing} on host {host}; pick another range."
        in form.errors["subnet"]
    )


def test_form_shows_only_the_overlap_for_an_overlapping_subnet(host):
    existing = make_network(host, name="wide", subnet="10.213.0.0/16")
    form = VirtualNetworkForm(data=add_form(host, subnet="10.213.5.0/24"))
    assert not form.is_valid()
    assert form.errors == {
        "subnet": [f"10.213.5.0/24 overlaps 10.213.0.0/16 of network {existing} on host {host}; pick another range."]
    }


def test_admin_page_refuses_an_overlapping_subnet(admin_client, host):
    make_network(host, name="wide", subnet="10.213.0.0/16")
    response = csrf_post(admin_client, NETWORK_ADD, add_form(host, subnet="10.213.5.0/24"))
    assert response.status_code == 200
    assert "10.213.5.0/24 overlaps 10.213.0.0/16" in text(response)
    assert VirtualNetwork.objects.count() == 1
    assert not Job.objects.exists()


def test_admin_page_needs_a_subnet_for_nat(admin_client, host):
    response = csrf_post(admin_client, NETWORK_ADD, add_form(host, subnet=""))
    assert response.status_code == 200
    assert "This kind of network needs a subnet" in text(response)
    assert not VirtualNetwork.objects.exists()


def test_admin_page_needs_a_bridge_for_bridged(admin_client, host):
    response = csrf_post(admin_client, NETWORK_ADD, add_form(host, kind=NetworkKind.BRIDGED, subnet=""))
    assert response.status_code == 200
    assert "Name the host bridge this network uses." in text(response)
    assert not VirtualNetwork.objects.exists()


@pytest.mark.parametrize("cidr", ["10.0.0.0/7"])
def test_admin_page_refuses_a_prefix_outside_8_to_30(admin_client, host, cidr):
    response = csrf_post(admin_client, NETWORK_ADD, add_form(host, subnet=cidr))
    assert response.status_code == 200
    assert "Use a prefix length from /8 to /30." in text(response)
    assert not VirtualNetwork.objects.exists()


BAD_CIDRS = ["10.0.0.0/33", "::/0", "300.1.1.1/24", "10.0.0.1/24", "/7", "not a network"]


@pytest.mark.parametrize("cidr", BAD_CIDRS)
def test_bad_cidrs_are_field_errors_when_no_host_is_chosen(cidr):
    form = VirtualNetworkForm(data={**add_form(other_host("h")), "host": "", "subnet": cidr})
    assert not form.is_valid()
    assert "subnet" in form.errors


@pytest.mark.parametrize("cidr", BAD_CIDRS)
def test_admin_page_shows_bad_cidrs_as_form_errors(admin_client, host, cidr):
    """Regression: the overlap check once parsed the raw subnet before validation and answered 500."""
    make_network(host, name="other", subnet="10.213.0.0/24")
    response = csrf_post(admin_client, NETWORK_ADD, add_form(host, subnet=cidr))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["subnet"], errors
    assert VirtualNetwork.objects.count() == 1
    assert not Job.objects.exists()


def test_admin_adds_a_network_which_a_job_defines_and_starts(
    admin_client, host, conn, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(admin_client, NETWORK_ADD, add_form(host, name="shared-lab", subnet="10.213.9.0/24"))
    assert response.status_code == 302, text(response)[-3000:]
    network = VirtualNetwork.objects.get(name="shared-lab")
    assert network.team is None
    assert network.state == NetworkState.BUILDING
    assert network.libvirt_name == "shared-lab"
    (job,) = jobs_on(network)
    assert job.action == NetworkJobAction.NETWORK_START
    assert [call["task"] for call in sent] == ["hypervisors.tasks.network_operate"]
    assert sent[0]["args"] == (job.pk,)

    network_operate(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    network.refresh_from_db()
    assert network.state == NetworkState.ACTIVE
    assert conn.networkLookupByName("shared-lab").isActive()


def test_only_portal_administrators_register_networks(host, team_admin):
    with pytest.raises(PermissionDenied):
        network_register(actor=team_admin, network=VirtualNetwork(host=host, name="x", subnet="10.213.0.0/24"))
    assert not VirtualNetwork.objects.exists()


# --- address pools ---


@pytest.mark.parametrize(
    ("cidr", "prefix", "field"),
    [
        ("10.0.0.0/33", 24, "cidr"),
        ("::/0", 24, "cidr"),
        ("300.1.1.1/24", 24, "cidr"),
        ("10.0.0.1/16", 24, "cidr"),
        ("10.0.0.0/7", 24, "cidr"),
        ("", 24, "cidr"),
        ("10.213.0.0/24", 16, "subnet_prefix"),
        ("10.213.0.0/16", 30, "subnet_prefix"),
        ("10.213.0.0/16", 15, "subnet_prefix"),
    ],
)
def test_address_pool_validation(cidr, prefix, field):
    pool = AddressPool(name="p", cidr=cidr, subnet_prefix=prefix)
    with pytest.raises(ValidationError) as refused:
        pool.full_clean()
    assert field in refused.value.message_dict


def test_a_valid_address_pool_passes():
    AddressPool(name="p", cidr="10.213.0.0/16", subnet_prefix=24).full_clean()
    AddressPool(name="q", cidr="10.214.0.0/24", subnet_prefix=24).full_clean()


def test_admin_pool_page_shows_errors_not_500(admin_client):
    response = csrf_post(
        admin_client, "/admin/hypervisors/addresspool/add/", {"name": "p", "cidr": "10.0.0.0/33", "subnet_prefix": 24}
    )
    assert response.status_code == 200
    assert "is not a network in CIDR form" in text(response)
    response = csrf_post(
        admin_client, "/admin/hypervisors/addresspool/add/", {"name": "p", "cidr": "10.213.0.0/24", "subnet_prefix": 16}
    )
    assert response.status_code == 200
    assert "Subnets must be smaller than the range they come from." in text(response)
    assert not AddressPool.objects.exists()


# --- team networks through the request path ---


NETWORK_NEW = "/networks/vm/new/"


def ask_form(team, name="lab", kind="nat", pool=""):
    return {"name": name, "team": str(team.pk), "network_kind": kind, "pool": pool, "justification": "tests"}


def test_member_asks_for_a_network_and_it_counts_in_the_quota(client_for, member, network_quota, pool):
    client = client_for(member)
    assert client.get(NETWORK_NEW).status_code == 200
    response = csrf_post(client, NETWORK_NEW, ask_form(network_quota))
    assert response.status_code == 302, text(response)[-3000:]
    request = ResourceRequest.objects.get(team=network_quota, name="lab")
    assert request.kind == HypervisorKind.NETWORK
    assert request.state == RequestState.PENDING
    assert request.spec == {"kind": "nat", "pool_id": None}
    assert usage_of(network_quota).pending.network_count == 1


def test_asking_over_the_network_quota_is_refused_naming_networks(client_for, member, team, pool):
    team.quota.network_count = 1
    team.quota.save()
    client = client_for(member)
    assert csrf_post(client, NETWORK_NEW, ask_form(team, name="one")).status_code == 302
    response = csrf_post(client, NETWORK_NEW, ask_form(team, name="two"))
    assert response.status_code == 400
    assert "Networks: over quota by 1 (asked 1, 0 left)" in text(response)
    assert list(ResourceRequest.objects.values_list("name", flat=True)) == ["one"]


def test_without_a_network_quota_nothing_may_be_asked(member, team):
    with pytest.raises(QuotaExceeded) as refused:
        request_submit(
            actor=member, team=team, kind=HypervisorKind.NETWORK, name="lab", vcpus=0, memory_mib=0, disk_gib=0,
            justification="x", spec={"kind": "nat"},
        )  # fmt: skip
    assert "Networks" in str(refused.value.shortfalls[0])


def test_viewers_cannot_ask_for_networks(client_for, viewer, network_quota):
    response = csrf_post(client_for(viewer), NETWORK_NEW, ask_form(network_quota))
    assert response.status_code == 400
    assert not ResourceRequest.objects.exists()


def ask(member, team, name="lab", kind="nat", pool_id=None) -> ResourceRequest:
    return request_submit(
        actor=member, team=team, kind=HypervisorKind.NETWORK, name=name, vcpus=0, memory_mib=0, disk_gib=0,
        justification="tests", spec={"kind": kind, "pool_id": pool_id},
    )  # fmt: skip


@pytest.mark.parametrize(("kind", "forward"), [("nat", "nat"), ("isolated", None)])
def test_approved_network_is_built_on_the_host(member, staff, network_quota, pool, host, conn, kind, forward):
    request = ask(member, network_quota, kind=kind)
    job = request_approve(actor=staff, request_id=request.pk)
    assert job.action == NetworkJobAction.NETWORK_PROVISION
    network = VirtualNetwork.objects.get(request=request)
    assert (network.host, network.team, network.name, network.kind) == (host, network_quota, "lab", kind)
    assert network.subnet == "10.213.0.0/24"
    assert network.libvirt_name == "blue.lab"
    assert network.state == NetworkState.BUILDING
    assert networks_usable_by(network_quota).filter(pk=network.pk).count() == 0, "not offered while building"

    network_kind.network_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    network.refresh_from_db()
    assert network.state == NetworkState.ACTIVE
    found = conn.networkLookupByUUIDString(str(network.uuid))
    assert found.name() == "blue.lab"
    assert found.isActive()
    root = ET.fromstring(found.XMLDesc(0))
    forward_element = root.find("forward")
    assert (forward_element.get("mode") if forward_element is not None else None) == forward
    assert root.find("ip").get("address") == "10.213.0.1"
    usage = usage_of(network_quota)
    assert (usage.used.network_count, usage.reserved.network_count) == (1, 0)


def test_two_team_networks_get_different_subnets(member, staff, network_quota, pool, host):
    subnets = []
    for name in ("one", "two"):
        request_approve(actor=staff, request_id=ask(member, network_quota, name=name).pk)
        subnets.append(ipaddress.IPv4Network(VirtualNetwork.objects.get(name=name).subnet))
    assert not subnets[0].overlaps(subnets[1])


def test_the_pool_chosen_in_the_form_is_used(client_for, member, staff, network_quota, pool, host):
    other = AddressPool.objects.create(name="other", cidr="10.214.0.0/16", subnet_prefix=26)
    assert csrf_post(client_for(member), NETWORK_NEW, ask_form(network_quota, pool=str(other.pk))).status_code == 302
    request = ResourceRequest.objects.get(name="lab")
    request_approve(actor=staff, request_id=request.pk)
    assert VirtualNetwork.objects.get(request=request).subnet == "10.214.0.0/26"


def test_approval_without_an_address_pool_fails_clearly(member, staff, network_quota, host):
    request = ask(member, network_quota)
    with pytest.raises(ValidationError) as refused:
        request_approve(actor=staff, request_id=request.pk)
    assert refused.value.messages == ["No address pool is configured; an administrator must add one."]
    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert not VirtualNetwork.objects.exists()
    assert not Job.objects.exists()


def test_admin_approve_action_without_a_pool_shows_the_error(admin_client, member, network_quota, host):
    request = ask(member, network_quota)
    data = {"action": "approve_selected", "index": "0", "_selected_action": [str(request.pk)]}
    response = csrf_post(admin_client, "/admin/portal/resourcerequest/", data, follow=True)
    assert response.status_code == 200
    assert "No address pool is configured; an administrator must add one." in text(response)
    response = csrf_post(admin_client, f"/admin/portal/resourcerequest/{request.pk}/approve/", follow=True)
    assert response.status_code == 200
    assert "No address pool is configured" in text(response)
    assert ResourceRequest.objects.get(pk=request.pk).state == RequestState.PENDING


def test_approval_with_a_full_pool_fails_clearly(member, staff, network_quota, host):
    AddressPool.objects.create(name="tiny", cidr="10.213.0.0/24", subnet_prefix=24)
    make_network(host, name="first", subnet="10.213.0.0/24")
    request = ask(member, network_quota)
    with pytest.raises(ValidationError) as refused:
        request_approve(actor=staff, request_id=request.pk)
    assert "has no free /24 left" in refused.value.messages[0]
    assert ResourceRequest.objects.get(pk=request.pk).state == RequestState.PENDING


def test_a_failed_network_build_is_cleaned_up_and_frees_the_quota(member, staff, network_quota, pool, host, conn):
    # Someone took the name on the host behind the portal's back: libvirt refuses the definition.
    squatter = network_xml(NetworkSpec(uuid=str(uuid.uuid4()), name="blue.lab", forward="", subnet="10.214.9.0/24"))
    conn.networkDefineXML(squatter)
    request = ask(member, network_quota)
    job = request_approve(actor=staff, request_id=request.pk)
    network = VirtualNetwork.objects.get(request=request)

    network_kind.network_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error
    request.refresh_from_db()
    assert request.state == RequestState.FAILED
    assert not VirtualNetwork.objects.filter(pk=network.pk).exists()
    with pytest.raises(libvirt.libvirtError):
        conn.networkLookupByUUIDString(str(network.uuid))
    assert conn.networkLookupByName("blue.lab").UUIDString() != str(network.uuid), "the squatter is left alone"
    usage = usage_of(network_quota)
    assert (usage.used.network_count, usage.reserved.network_count, usage.pending.network_count) == (0, 0, 0)


# --- starting, stopping, deleting networks ---


@pytest.fixture
def built(host, team, conn):
    """A team network that is defined and running on the test hypervisor."""
    network = make_network(host, team, name="lab", subnet="10.213.0.0/24")
    bring_up(network)
    return network


def test_team_admin_stops_starts_and_deletes_the_team_network(team_admin, team, built, conn):
    job = network_action_request(actor=team_admin, network_id=built.pk, slug="stop")
    assert (job.action, job.team) == (NetworkJobAction.NETWORK_STOP, team)
    network_operate(job_id=job.pk)
    built.refresh_from_db()
    assert built.state == NetworkState.INACTIVE
    assert not conn.networkLookupByUUIDString(str(built.uuid)).isActive()

    job = network_action_request(actor=team_admin, network_id=built.pk, slug="start")
    network_operate(job_id=job.pk)
    built.refresh_from_db()
    assert built.state == NetworkState.ACTIVE
    assert conn.networkLookupByUUIDString(str(built.uuid)).isActive()

    job = network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    network_operate(job_id=job.pk)
    assert Job.objects.get(pk=job.pk).state == JobState.SUCCEEDED
    assert not VirtualNetwork.objects.filter(pk=built.pk).exists()
    with pytest.raises(libvirt.libvirtError):
        conn.networkLookupByUUIDString(str(built.uuid))
    assert usage_of(team).used.network_count == 0


@pytest.mark.parametrize("slug", ["start", "stop", "delete"])
def test_members_may_not_act_on_networks(member, built, slug):
    with pytest.raises(PermissionDenied):
        network_action_request(actor=member, network_id=built.pk, slug=slug)
    assert not Job.objects.exists()


def test_other_teams_admins_may_not_act_on_a_network(outsider, built):
    with pytest.raises(PermissionDenied):
        network_action_request(actor=outsider, network_id=built.pk, slug="stop")


def test_shared_networks_are_run_by_portal_administrators_only(host, team_admin, staff):
    shared = make_network(host, None, name="shared")
    with pytest.raises(PermissionDenied):
        network_action_request(actor=team_admin, network_id=shared.pk, slug="stop")
    job = network_action_request(actor=staff, network_id=shared.pk, slug="stop")
    assert job.team is None


def test_actions_follow_the_network_state(team_admin, built):
    with pytest.raises(ActionRefused, match="cannot be asked to start"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="start")
    network_action_request(actor=team_admin, network_id=built.pk, slug="stop")
    with pytest.raises(ActionRefused, match="still running"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    with pytest.raises(ActionRefused, match="no network action 'rename'"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="rename")


def test_delete_is_refused_while_vms_have_cards_on_the_network(team_admin, team, built):
    vm = VirtualMachineFactory(team=team, host=built.host)
    VMInterface.objects.create(vm=vm, network=built, mac="52:54:00:aa:bb:cc", attached=True)
    with pytest.raises(ValidationError) as refused:
        network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    assert refused.value.messages == ["VMs still have network cards on this network; detach them first."]
    assert not Job.objects.exists()


@pytest.mark.parametrize("shared", [False, True])
def test_the_network_lock_works_on_every_database(team_admin, staff, built, host, shared):
    """The lock every network action takes, on its own, for a team's and a shared network."""
    network = make_network(host, None, name="shared", subnet="10.213.9.0/24") if shared else built
    job = network_action_request(actor=staff, network_id=network.pk, slug="stop")
    assert job.action == NetworkJobAction.NETWORK_STOP


def test_network_operate_for_a_vanished_network(team_admin, team, host):
    from portal.jobs import job_create

    network = make_network(host, team, name="gone")
    stop = job_create(action=NetworkJobAction.NETWORK_STOP, team=team, requested_by=team_admin, target=network)
    delete = job_create(action=NetworkJobAction.NETWORK_DELETE, team=team, requested_by=team_admin, target=network)
    network.delete()
    network_operate(job_id=stop.pk)
    network_operate(job_id=delete.pk)
    assert Job.objects.get(pk=stop.pk).state == JobState.FAILED
    assert Job.objects.get(pk=delete.pk).state == JobState.SUCCEEDED, "deleting what is gone is success"


# --- which networks a team's VMs may use ---


def test_networks_usable_by_are_shared_and_own_never_another_teams(host, team):
    red = TeamFactory(name="red2", slug="red2")
    shared = make_network(host, None, name="shared", subnet="10.213.1.0/24")
    own = make_network(host, team, name="own", subnet="10.213.2.0/24")
    make_network(host, red, name="theirs", subnet="10.213.3.0/24")
    make_network(host, team, name="building", subnet="10.213.4.0/24", state=NetworkState.BUILDING)
    stopped = make_network(host, team, name="stopped", subnet="10.213.5.0/24", state=NetworkState.INACTIVE)
    assert set(networks_usable_by(team)) == {shared, own, stopped}
    assert list(networks_usable_by(None)) == [shared]


# --- VMs asked for with networks ---


@pytest.fixture
def two_hosts(libvirt_test_host):
    """A big host (most room, never contacted) and the test hypervisor, smaller, that has the team's networks."""
    return other_host("big", memory_mib=65536), libvirt_test_host


def vm_form(team, image, networks, name="web", memory_mib=128):
    return {
        "name": name,
        "team": str(team.pk),
        "image": str(image.pk),
        "vcpus": 1,
        "memory_mib": memory_mib,
        "disk_gib": 1,
        "networks": [str(n.pk) for n in networks],
        "justification": "tests",
    }


def test_vm_form_refuses_another_teams_network(member, team, image, host):
    red = TeamFactory(name="red2", slug="red2")
    theirs = make_network(host, red, name="theirs")
    form = VMRequestForm(data=vm_form(team, image, [theirs]), user=member)
    assert not form.is_valid()
    assert "networks" in form.errors

    # A member of both teams still may not put a blue VM on a red network.
    MembershipFactory(user=member, team=red, role=Role.MEMBER)
    form = VMRequestForm(data=vm_form(team, image, [theirs]), user=member)
    assert not form.is_valid()
    assert form.errors["networks"] == ["red2/theirs belongs to another team."]


def test_vm_form_refuses_networks_on_two_hosts(member, team, image, two_hosts):
    big, small = two_hosts
    one = make_network(big, team, name="one", subnet="10.213.1.0/24")
    two = make_network(small, team, name="two", subnet="10.213.2.0/24")
    form = VMRequestForm(data=vm_form(team, image, [one, two]), user=member)
    assert not form.is_valid()
    assert form.errors["networks"] == ["Pick networks of one host: a VM runs on one host."]


def test_vm_form_does_not_offer_networks_being_built(member, team, image, host):
    building = make_network(host, team, name="new", state=NetworkState.BUILDING)
    form = VMRequestForm(data=vm_form(team, image, [building]), user=member)
    assert not form.is_valid()
    assert "networks" in form.errors


def test_vm_page_refuses_another_teams_network(client_for, member, team, image, host):
    red = TeamFactory(name="red2", slug="red2")
    theirs = make_network(host, red, name="theirs")
    response = csrf_post(client_for(member), "/vms/new/", vm_form(team, image, [theirs]))
    assert response.status_code == 400
    assert not ResourceRequest.objects.exists()


def test_approved_vm_gets_a_card_per_network_on_the_networks_host(member, staff, team, image, two_hosts, conn):
    _big, small = two_hosts
    own = make_network(small, team, name="own", subnet="10.213.1.0/24")
    shared = make_network(small, None, name="shared", subnet="10.213.2.0/24")
    for network in (own, shared):
        bring_up(network)
    form = VMRequestForm(data=vm_form(team, image, [own, shared]), user=member)
    assert form.is_valid(), form.errors
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
        justification="tests", spec=form.spec(form.cleaned_data),
    )  # fmt: skip
    job = request_approve(actor=staff, request_id=request.pk)
    vm = VirtualMachine.objects.get(request=request)
    assert vm.host == small, "placed on the networks' host, not the roomier one"
    cards = list(vm.interfaces.order_by("network__name"))
    assert [card.network for card in cards] == [own, shared]
    macs = [card.mac for card in cards]
    assert all(MAC.match(mac) for mac in macs), macs
    assert len(set(macs)) == 2
    assert not any(card.attached for card in cards)

    spec = provisioning.domain_spec(vm, "/default-pool/disk.qcow2")
    described = ET.fromstring(domain_xml(spec))
    assert [
        (i.get("type"), i.find("mac").get("address"), i.find("source").get("network"))
        for i in described.findall("devices/interface")
    ] == [("network", mac, name) for mac, name in zip(macs, ["blue.own", "shared"], strict=True)]

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    domain = conn.lookupByUUIDString(str(vm.uuid))
    interfaces = ET.fromstring(domain.XMLDesc(0)).findall("devices/interface")
    assert sorted(
        (i.get("type"), i.find("mac").get("address"), i.find("source").get("network")) for i in interfaces
    ) == sorted([("network", macs[0], "blue.own"), ("network", macs[1], "shared")])
    assert domain_macs(domain.XMLDesc(0)) == set(macs)
    assert all(card.attached for card in vm.interfaces.all())


def test_vm_without_networks_goes_where_there_is_most_room(member, staff, team, image, two_hosts):
    big, _small = two_hosts
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
        justification="tests", spec={"image_id": image.pk},
    )  # fmt: skip
    request_approve(actor=staff, request_id=request.pk)
    vm = VirtualMachine.objects.get(request=request)
    assert vm.host == big
    assert not vm.interfaces.exists()


def test_vm_macs_are_unique_across_many_cards(member, staff, team, image, host):
    networks = [make_network(host, None, name=f"s{i}", subnet=f"10.213.{i}.0/24") for i in range(6)]
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
        justification="tests", spec={"image_id": image.pk, "network_ids": [n.pk for n in networks]},
    )  # fmt: skip
    request_approve(actor=staff, request_id=request.pk)
    macs = list(VMInterface.objects.values_list("mac", flat=True))
    assert len(macs) == len(set(macs)) == 6
    assert all(MAC.match(mac) for mac in macs)


# --- attaching and detaching VM network cards ---


@pytest.fixture
def vm(team, member, host):
    return VirtualMachineFactory(team=team, owner=member, host=host, name="web", state="running")


def test_attach_queues_a_job_with_a_new_card(member, team, vm, host):
    own = make_network(host, team, name="own")
    job = vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-attach", network_id=own.pk)
    card = VMInterface.objects.get(vm=vm, network=own)
    assert MAC.match(card.mac)
    assert not card.attached
    assert job.action == VMJobAction.VM_INTERFACE_ATTACH
    assert job.params == {"network_id": own.pk, "mac": card.mac}


def test_attach_refuses_another_teams_network(member, vm, host):
    theirs = make_network(host, TeamFactory(name="red2", slug="red2"), name="theirs")
    with pytest.raises(ValidationError) as refused:
        vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-attach", network_id=theirs.pk)
    assert refused.value.message_dict == {"network": ["Pick a shared network or one of your team's."]}
    assert not VMInterface.objects.exists()
    assert not Job.objects.exists()


def test_attach_refuses_a_network_on_another_host(member, team, vm):
    elsewhere = make_network(other_host("far"), team, name="far")
    with pytest.raises(ValidationError) as refused:
        vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-attach", network_id=elsewhere.pk)
    assert refused.value.message_dict == {"network": ["blue/far is on host far, not on the VM's host."]}
    assert not VMInterface.objects.exists()


def test_attach_twice_and_detach_of_an_absent_card_are_refused(member, team, vm, host):
    own = make_network(host, team, name="own")
    other = make_network(host, None, name="shared", subnet="10.213.1.0/24")
    VMInterface.objects.create(vm=vm, network=own, mac="52:54:00:00:00:01", attached=True)
    with pytest.raises(ValidationError) as twice:
        vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-attach", network_id=own.pk)
    assert twice.value.message_dict == {"network": ["The VM is already on blue/own."]}
    with pytest.raises(ValidationError) as absent:
        vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-detach", network_id=other.pk)
    assert absent.value.message_dict == {"network": ["The VM is not on shared (shared)."]}
    assert VMInterface.objects.count() == 1
    assert not Job.objects.exists()


def test_detach_queues_a_job_for_the_card(member, team, vm, host):
    own = make_network(host, team, name="own")
    VMInterface.objects.create(vm=vm, network=own, mac="52:54:00:00:00:02", attached=True)
    job = vm_interface_request(actor=member, vm_id=vm.pk, slug="interface-detach", network_id=own.pk)
    assert job.action == VMJobAction.VM_INTERFACE_DETACH
    assert job.params == {"network_id": own.pk, "mac": "52:54:00:00:00:02"}


def test_viewers_may_not_change_cards(viewer, team, vm, host):
    own = make_network(host, team, name="own")
    with pytest.raises(PermissionDenied):
        vm_interface_request(actor=viewer, vm_id=vm.pk, slug="interface-attach", network_id=own.pk)
    assert not VMInterface.objects.exists()


def test_other_actions_are_not_interface_actions(member, team, vm, host):
    own = make_network(host, team, name="own")
    with pytest.raises(ValidationError, match="no interface action 'reboot'"):
        vm_interface_request(actor=member, vm_id=vm.pk, slug="reboot", network_id=own.pk)
    assert not Job.objects.exists()


def test_a_failed_attach_leaves_no_card_row(member, team, host, conn):
    """The test driver cannot attach devices: the job fails and the card row it made is removed."""
    from portal.jobs import job_create

    own = make_network(host, team, name="own")
    bring_up(own)
    with driver_for(host.uri) as driver:
        from hypervisors.drivers import DomainSpec

        domain_uuid = str(uuid.uuid4())
        driver.domain_define(
            DomainSpec(uuid=domain_uuid, name="blue.web", domain_type="test", vcpus=1, memory_mib=128,
                       disk_path="/default-pool/web.qcow2", kernel_path="/vmlinuz")
        )  # fmt: skip
    vm = VirtualMachineFactory(team=team, host=host, name="web", uuid=domain_uuid, state="shutoff")
    card = VMInterface.objects.create(vm=vm, network=own, mac="52:54:00:00:00:03")
    job = job_create(
        action=VMJobAction.VM_INTERFACE_ATTACH, team=team, requested_by=member, target=vm,
        params={"network_id": own.pk, "mac": card.mac},
    )  # fmt: skip
    vm_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error
    assert not VMInterface.objects.filter(pk=card.pk).exists()


# --- the domain XML helpers for cards ---


DOMAIN = """<domain type='test'><name>d</name><devices>
<interface type='network'><mac address='52:54:00:AA:bb:01'/><source network='blue.a'/><model type='virtio'/></interface>
<interface type='network'><mac address='52:54:00:aa:bb:02'/><source network='shared'/></interface>
<disk type='file' device='disk'><source file='/x.qcow2'/></disk>
</devices></domain>"""


def test_domain_macs_and_interface_by_mac():
    assert domain_macs(DOMAIN) == {"52:54:00:aa:bb:01", "52:54:00:aa:bb:02"}
    element = ET.fromstring(domain_interface_by_mac(DOMAIN, "52:54:00:aa:BB:01"))
    assert element.find("source").get("network") == "blue.a"
    assert domain_interface_by_mac(DOMAIN, "52:54:00:aa:bb:99") is None


def test_leases_are_read_by_lowercase_mac():
    leases = [
        {"mac": "52:54:00:AA:00:01", "ipaddr": "10.213.0.10"},
        {"mac": "52:54:00:aa:00:01", "ipaddr": "10.213.0.11"},
        {"mac": "52:54:00:aa:00:02", "ipaddr": ""},
        {"ipaddr": "10.213.0.12"},
    ]
    assert network_leases_parse(leases) == {"52:54:00:aa:00:01": ["10.213.0.10", "10.213.0.11"]}


# --- the reconcile ---


def test_reconcile_follows_networks_changed_behind_the_portals_back(host, team, conn):
    stopped = make_network(host, team, name="stopped", subnet="10.213.1.0/24")
    removed = make_network(host, team, name="removed", subnet="10.213.2.0/24")
    revived = make_network(host, team, name="revived", subnet="10.213.3.0/24", state=NetworkState.INACTIVE)
    building = make_network(host, team, name="building", subnet="10.213.4.0/24", state=NetworkState.BUILDING)
    for network in (stopped, removed, revived):
        bring_up(network)
    conn.networkLookupByUUIDString(str(stopped.uuid)).destroy()
    gone = conn.networkLookupByUUIDString(str(removed.uuid))
    gone.destroy()
    gone.undefine()

    report = host_reconcile(host_id=host.pk)

    assert report.reachable
    states = dict(VirtualNetwork.objects.values_list("name", "state"))
    assert states == {
        "stopped": NetworkState.INACTIVE,
        "removed": NetworkState.MISSING,
        "revived": NetworkState.ACTIVE,
        "building": NetworkState.BUILDING,
    }
    assert building.pk  # a job owns a network being built; the reconcile leaves it alone


def test_reconcile_reads_leases_without_error_where_the_host_has_none(host, team, conn):
    own = make_network(host, team, name="own")
    bring_up(own)
    vm = VirtualMachineFactory(team=team, host=host, name="web")
    VMInterface.objects.create(vm=vm, network=own, mac="52:54:00:00:00:04", attached=True)
    report = host_reconcile(host_id=host.pk)
    assert report.reachable
    assert VMInterface.objects.get(vm=vm).ip_addresses == []


def test_reconcile_fills_card_addresses_from_leases(host, team):
    own = make_network(host, team, name="own")
    vm = VirtualMachineFactory(team=team, host=host, name="web")
    card = VMInterface.objects.create(vm=vm, network=own, mac="52:54:00:00:00:05", ip_addresses=["10.213.0.99"])
    status = {str(own.uuid): NetworkStatus(uuid=str(own.uuid), name=own.libvirt_name, active=True)}
    _reconcile_networks(host, status, {"52:54:00:00:00:05": ["10.213.0.7", "10.213.0.3"]})
    card.refresh_from_db()
    assert card.ip_addresses == ["10.213.0.3", "10.213.0.7"]
    _reconcile_networks(host, status, {})
    card.refresh_from_db()
    assert card.ip_addresses == [], "an expired lease is forgotten"


def test_networks_of_another_host_are_not_touched(host, team, conn):
    elsewhere = make_network(other_host("far"), team, name="far")
    host_reconcile(host_id=host.pk)
    elsewhere.refresh_from_db()
    assert elsewhere.state == NetworkState.ACTIVE
