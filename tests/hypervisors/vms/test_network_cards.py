"""A VM's network cards: networks chosen in the request form, cards made at the build, attach and detach.

libvirt's ``test:///default`` cannot attach devices, so a running attach is seen to fail cleanly.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hypervisors.choices import HypervisorKind, NetworkState, VMJobAction
from hypervisors.drivers import driver_for
from hypervisors.drivers.domain_xml import (
    domain_macs,
    domain_xml,
)
from hypervisors.models import VirtualMachine, VMInterface
from hypervisors.vms import provisioning
from hypervisors.vms.forms import VMRequestForm
from hypervisors.vms.operations import vm_operate
from hypervisors.vms.services import vm_interface_request
from portal.choices import JobState, Role
from portal.models import Job, ResourceRequest
from portal.services import request_approve, request_submit
from tests.factories import MembershipFactory, TeamFactory, VirtualMachineFactory
from tests.support.pages import csrf_post
from tests.support.vm_networks import bring_up, make_network, other_host

pytestmark = pytest.mark.django_db


MAC = re.compile(r"\A52:54:00(:[0-9a-f]{2}){3}\Z")


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
