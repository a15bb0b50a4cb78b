"""Services on hosts: probing what a host is and can do."""

from __future__ import annotations

import logging

from django.utils import timezone

from hypervisors.drivers import DriverError, driver_for
from hypervisors.models import Host

logger = logging.getLogger(__name__)


def host_probe(*, host_id: int) -> Host:
    """Ask the host what it is and record the answer; an unreachable host is marked so, not raised.

    Runs in workers only: it talks to the host.
    """
    host = Host.objects.get(pk=host_id)
    try:
        with driver_for(host.uri) as driver:
            facts = driver.probe()
    except DriverError as error:
        host_mark_unreachable(host, error)
    else:
        host.is_reachable = True
        host.unreachable_since = None
        host.last_error = ""
        host.hostname = facts.hostname
        if facts.openvswitch is not None:
            host.openvswitch = facts.openvswitch
        host.cpus = facts.cpus
        host.memory_mib = facts.memory_mib
        host.libvirt_version = facts.libvirt_version
        host.hypervisor_version = facts.hypervisor_version
        host.domain_type = facts.domain_types[0] if facts.domain_types else ""
    host.last_probed_at = timezone.now()
    host.save()
    return host


def host_mark_unreachable(host: Host, error: Exception) -> None:
    """Record that a host stopped answering; its VMs keep their last known state until it answers again."""
    logger.warning("Host %s is unreachable: %s", host.name, error)
    host.is_reachable = False
    host.unreachable_since = host.unreachable_since or timezone.now()
    host.last_error = str(error)
    host.save(update_fields=["is_reachable", "unreachable_since", "last_error"])


def host_mark_reachable(host: Host) -> None:
    """Record that a host answers again."""
    if not host.is_reachable or host.last_error:
        host.is_reachable = True
        host.unreachable_since = None
        host.last_error = ""
        host.save(update_fields=["is_reachable", "unreachable_since", "last_error"])
