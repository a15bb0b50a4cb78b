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
        logger.warning("Host %s is unreachable: %s", host.name, error)
        host.is_reachable = False
        host.last_error = str(error)
    else:
        host.is_reachable = True
        host.last_error = ""
        host.cpus = facts.cpus
        host.memory_mib = facts.memory_mib
        host.libvirt_version = facts.libvirt_version
        host.hypervisor_version = facts.hypervisor_version
        host.domain_type = facts.domain_types[0] if facts.domain_types else ""
    host.last_probed_at = timezone.now()
    host.save()
    return host
