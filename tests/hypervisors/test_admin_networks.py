"""Admins add networks and address pools in Django admin: the form, its errors, and the job that builds it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from hypervisors.admin import VirtualNetworkForm
from hypervisors.choices import NetworkJobAction, NetworkKind, NetworkState
from hypervisors.models import AddressPool, VirtualNetwork
from hypervisors.networks.operations import network_operate
from hypervisors.networks.services import network_register
from portal.choices import JobState
from portal.models import Job
from tests.support.pages import csrf_post, text
from tests.support.vm_networks import jobs_on, make_network, other_host

pytestmark = pytest.mark.django_db


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
