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


def subnet_check_free(*, host: Host, subnet: str, exclude_id: int | None = None) -> None:
    """Raise ``ValidationError`` if ``subnet`` overlaps a network the portal knows on ``host``.

    Call with the host locked (:func:`host_lock`), so that no other network takes the range meanwhile.
    """
    taken = VirtualNetwork.objects.overlapping(host, subnet, exclude_id=exclude_id)
    if taken is not None:
        raise ValidationError(
            {"subnet": f"{subnet} overlaps {taken.subnet} of network {taken} on host {host}; pick another range."}
        )


def subnet_allocate(*, host: Host, pool: AddressPool) -> str:
    """The first subnet of ``pool`` free on ``host``. Call with the host locked. Raises ``ValidationError``."""
    taken = [network for network, _ in VirtualNetwork.objects.subnets_on(host)]
    for candidate in ipaddress.IPv4Network(pool.cidr).subnets(new_prefix=pool.subnet_prefix):
        if not any(candidate.overlaps(network) for network in taken):
            return str(candidate)
    raise ValidationError(f"Address pool {pool} has no free /{pool.subnet_prefix} left on host {host}.")
