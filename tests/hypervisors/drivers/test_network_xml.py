"""The XML of VM networks and network cards: what libvirt gets for each kind, and what the driver reads back.

The driver here is libvirt's ``test:///default`` (``libvirt_test_host``): it defines, starts, stops and
lists networks, but has no DHCP leases and cannot attach devices.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

import pytest

from hypervisors.choices import NetworkKind
from hypervisors.drivers import NetworkSpec, driver_for
from hypervisors.drivers.domain_xml import (
    domain_interface_by_mac,
    domain_macs,
    network_leases_parse,
    network_xml,
)
from hypervisors.models import VirtualNetwork
from hypervisors.networks.provisioning import network_spec
from tests.support.vm_networks import bring_up, make_network

pytestmark = pytest.mark.django_db


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
