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
        host.mark_unreachable(error)
    else:
        host.mark_reachable()
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
