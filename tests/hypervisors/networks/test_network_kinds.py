"""Open vSwitch networks need the host capability; user-mode networking is for qemu:///session hosts."""

import xml.etree.ElementTree as ET

import pytest

from hypervisors.admin import VirtualNetworkForm
from hypervisors.choices import NetworkKind, NetworkState
from hypervisors.drivers import DomainSpec, InterfaceSpec
from hypervisors.drivers.domain_xml import domain_xml
from hypervisors.drivers.libvirt_driver import is_local_uri, local_openvswitch
from hypervisors.hosts.services import host_probe
from hypervisors.models import Host
from hypervisors.networks.operations import network_operate
from hypervisors.networks.services import network_register
from portal.models import Job
from tests.factories import HostFactory

pytestmark = pytest.mark.django_db


def form_data(host, **overrides):
    data = {"host": host.pk, "team": "", "name": "lan", "kind": NetworkKind.NAT, "subnet": "", "bridge": ""}
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("qemu:///system", True),
        ("qemu:///session", True),
        ("test:///default", True),
        ("qemu+ssh://root@kvm1/system", False),
        ("qemu+tls://kvm1/system", False),
    ],
)
def test_local_uris_are_told_apart(uri, local):
    assert is_local_uri(uri) is local


def test_probe_records_whether_open_vswitch_runs(libvirt_test_host):
    host = host_probe(host_id=libvirt_test_host.pk)
    assert host.openvswitch is local_openvswitch()


def test_ovs_network_needs_the_host_capability(db):
    host = HostFactory(openvswitch=False)
    form = VirtualNetworkForm(data=form_data(host, kind=NetworkKind.OPENVSWITCH, bridge="ovsbr0"))
    assert not form.is_valid()
    assert form.errors["kind"] == [f"Host {host} has no Open vSwitch (see its probe)."]
    host.openvswitch = True
    host.save()
    assert VirtualNetworkForm(data=form_data(host, kind=NetworkKind.OPENVSWITCH, bridge="ovsbr0")).is_valid()


def test_user_mode_networking_only_on_session_hosts(db):
    system = HostFactory(uri="qemu:///system", name="sys")
    form = VirtualNetworkForm(data=form_data(system, kind=NetworkKind.USER))
    assert not form.is_valid()
    assert form.errors["kind"] == ["User-mode networking is for qemu:///session hosts."]
    session = HostFactory(uri="qemu:///session", name="ses")
    assert VirtualNetworkForm(data=form_data(session, kind=NetworkKind.USER)).is_valid()
    refused = VirtualNetworkForm(data=form_data(session, kind=NetworkKind.USER, subnet="10.213.9.0/24"))
    assert refused.errors["subnet"] == ["User-mode networking has no subnet of its own."]


def test_user_mode_network_comes_up_without_touching_a_host(staff, django_capture_on_commit_callbacks):
    host = HostFactory(uri="qemu:///session", name="ses", is_reachable=False)
    form = VirtualNetworkForm(data=form_data(host, kind=NetworkKind.USER, name="slirp"))
    assert form.is_valid(), form.errors
    with django_capture_on_commit_callbacks():
        job = network_register(actor=staff, network=form.save(commit=False))
    network_operate(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    assert job.state == "succeeded", job.error
    network = host.networks.get()
    assert network.state == NetworkState.ACTIVE
    assert Host.objects.get(pk=host.pk).is_reachable is False, "no connection was tried"


def test_user_mode_card_in_domain_xml():
    spec = DomainSpec(
        uuid="6d3a1c6e-4ad7-4a3e-9f42-0ad5d0f0c0aa",
        name="a.b",
        domain_type="qemu",
        vcpus=1,
        memory_mib=96,
        disk_path="/d.qcow2",
        kernel_path="/k",
        interfaces=(InterfaceSpec(mac="52:54:00:00:00:01", user_mode=True),),
    )
    interface = ET.fromstring(domain_xml(spec)).find("devices/interface")
    assert interface is not None and interface.get("type") == "user"
    assert interface.find("source") is None
    assert interface.find("mac").get("address") == "52:54:00:00:00:01"
