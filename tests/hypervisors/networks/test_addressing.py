"""The address plan: subnets handed out from a pool, and overlaps refused on a host."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import NetworkKind
from hypervisors.models import AddressPool
from hypervisors.networks.addressing import subnet_allocate, subnet_check_free
from tests.support.vm_networks import make_network, other_host

pytestmark = pytest.mark.django_db


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
