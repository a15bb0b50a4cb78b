"""Pictures of VM networks: which VMs sit on which network, with their MACs and addresses."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from hypervisors.models import VirtualMachine, VirtualNetwork, VMInterface
from portal.topology import Link, Node


def vm_network_nodes(
    networks: QuerySet[VirtualNetwork], vms: QuerySet[VirtualMachine], host_default: str = ""
) -> tuple[list[Node], list[Node], list[Link]]:
    """Nodes and links for these networks and VMs (three queries whatever their number).

    ``host_default`` names the host's own network that VMs asked for without a
    network card join (it has no row): when given, those VMs are drawn on it.
    """
    network_list = list(networks.select_related("team"))
    vm_list = list(vms.select_related("team"))
    cards = VMInterface.objects.filter(network__in=network_list, vm__in=vm_list).select_related("network", "vm")
    network_nodes = [
        Node(
            key=f"n{n.pk}",
            label=str(n),
            detail=f"{n.get_kind_display().split(' (')[0]} · {n.subnet or n.bridge or '—'} · {n.get_state_display()}",
            css_class="network",
        )
        for n in network_list
    ]
    vm_nodes = [
        Node(
            key=f"v{vm.pk}",
            label=str(vm),
            detail=f"VM · {vm.get_state_display()}",
            css_class="vm",
            url=reverse("vm-detail", args=[vm.uuid]),
        )
        for vm in vm_list
    ]
    links = [
        Link(network=f"n{card.network_id}", machine=f"v{card.vm_id}", label=" ".join([card.mac, *card.ip_addresses]))
        for card in cards
    ]
    on_cards = {card.vm_id for card in cards}
    on_default = [vm for vm in vm_list if vm.pk not in on_cards]
    if host_default and on_default:
        network_nodes.append(
            Node(key="n-default", label=host_default, detail="the host's default network", css_class="network")
        )
        links += [Link(network="n-default", machine=f"v{vm.pk}", label="") for vm in on_default]
    return network_nodes, vm_nodes, links
