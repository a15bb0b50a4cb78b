"""The address plan: subnets handed out from admins' pools never overlap on a host.

Checks run with the host row locked, so two networks asked for at once on one
host cannot both take the same range.
"""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError

from hypervisors.models import AddressPool, Host, VirtualNetwork


def host_lock(host_id: int) -> Host:
    """Lock a host row for the rest of the transaction; subnet choices on one host serialize on it."""
    return Host.objects.select_for_update().get(pk=host_id)


def _taken(host: Host, exclude_id: int | None = None) -> list[tuple[ipaddress.IPv4Network, VirtualNetwork]]:
    networks = VirtualNetwork.objects.filter(host=host).exclude(subnet="").select_related("team")
    if exclude_id is not None:
        networks = networks.exclude(pk=exclude_id)
    return [(ipaddress.IPv4Network(network.subnet), network) for network in networks]


def subnet_check_free(*, host: Host, subnet: str, exclude_id: int | None = None) -> None:
    """Raise ``ValidationError`` if ``subnet`` overlaps a network the portal knows on ``host``."""
    wanted = ipaddress.IPv4Network(subnet)
    for taken, network in _taken(host, exclude_id):
        if wanted.overlaps(taken):
            raise ValidationError(
                {"subnet": f"{wanted} overlaps {taken} of network {network} on host {host}; pick another range."}
            )


def subnet_allocate(*, host: Host, pool: AddressPool) -> str:
    """The first subnet of ``pool`` free on ``host``. Call with the host locked. Raises ``ValidationError``."""
    taken = [network for network, _ in _taken(host)]
    for candidate in ipaddress.IPv4Network(pool.cidr).subnets(new_prefix=pool.subnet_prefix):
        if not any(candidate.overlaps(network) for network in taken):
            return str(candidate)
    raise ValidationError(f"Address pool {pool} has no free /{pool.subnet_prefix} left on host {host}.")
