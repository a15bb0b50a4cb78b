"""Pictures of VM networks: which VMs sit on which network, with their MACs and addresses."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from hypervisors.models import VirtualMachine, VirtualNetwork, VMInterface
from portal.topology import Link, Node


def vm_network_nodes(
    networks: QuerySet[VirtualNetwork], vms: QuerySet[VirtualMachine]
) -> tuple[list[Node], list[Node], list[Link]]:
    """Nodes and links for these networks and VMs (three queries whatever their number)."""
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
    return network_nodes, vm_nodes, links
