"""The reconcile of networks: states changed behind the portal's back, and card addresses from leases."""

from __future__ import annotations

import pytest

from hypervisors.choices import NetworkState
from hypervisors.drivers import NetworkStatus
from hypervisors.hosts.inventory import _reconcile_networks, host_reconcile
from hypervisors.models import VirtualNetwork, VMInterface
from tests.factories import VirtualMachineFactory
from tests.support.vm_networks import bring_up, make_network, other_host

pytestmark = pytest.mark.django_db


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
