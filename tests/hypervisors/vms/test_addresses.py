"""A VM's leased addresses, as the reconcile stored them (tests/hypervisors/hosts/test_inventory_networks.py), shown
on its page and in the list without asking the host."""

from __future__ import annotations

import pytest

from tests.factories import HostFactory, VirtualMachineFactory, VirtualNetworkFactory, VMInterfaceFactory

pytestmark = pytest.mark.django_db


def card_on(host, team, member):
    vm = VirtualMachineFactory(team=team, owner=member, name="web", host=host)
    network = VirtualNetworkFactory(team=team, host=vm.host)
    return VMInterfaceFactory(vm=vm, network=network, ip_addresses=["10.20.0.17"])


@pytest.fixture
def card(team, member):
    return card_on(HostFactory(name="kvm1", uri="qemu+ssh://root@kvm1/system"), team, member)


@pytest.mark.usefixtures("no_hypervisor")
def test_the_list_and_the_page_show_addresses_from_the_rows(client_for, member, card, red_vm):
    client = client_for(member)
    VMInterfaceFactory(vm=red_vm, network=VirtualNetworkFactory(team=red_vm.team), ip_addresses=["10.99.0.5"])
    listing = client.get("/vms/").content.decode()
    assert "10.20.0.17" in listing and "10.99.0.5" not in listing
    assert "10.20.0.17" in client.get(f"/vms/{card.vm.uuid}/").content.decode()
