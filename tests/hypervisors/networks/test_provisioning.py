"""Team networks through the request path: asked for, counted in the quota, approved and built on the host."""

from __future__ import annotations

import ipaddress
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind, NetworkJobAction, NetworkState
from hypervisors.drivers import NetworkSpec
from hypervisors.drivers.domain_xml import (
    network_xml,
)
from hypervisors.models import AddressPool, VirtualNetwork
from hypervisors.networks import provisioning as network_kind
from hypervisors.networks.selectors import networks_usable_by
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_submit
from tests.support.pages import csrf_post, text
from tests.support.rows import usage_of
from tests.support.vm_networks import make_network

pytestmark = pytest.mark.django_db


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
    AddressPool.objects.all().delete()  # the host fixture's pool for VMs' team networks
    request = ask(member, network_quota)
    with pytest.raises(ValidationError) as refused:
        request_approve(actor=staff, request_id=request.pk)
    assert refused.value.messages == ["No address pool is configured; an administrator must add one."]
    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert not VirtualNetwork.objects.exists()
    assert not Job.objects.exists()


def test_admin_approve_action_without_a_pool_shows_the_error(admin_client, member, network_quota, host):
    AddressPool.objects.all().delete()  # the host fixture's pool for VMs' team networks
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
    AddressPool.objects.all().delete()  # the host fixture's pool for VMs' team networks
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
