"""The bare libvirt SDK, handed out from the one package allowed to import it.

Only the benchmarks use it: they measure the portal against the same work done
with raw SDK calls. Portal code goes through :func:`hypervisors.drivers.driver_for`.
"""

import libvirt

from hypervisors.drivers.libvirt_driver import DOMAIN_STATS_FLAGS

#: The libvirt module itself, for raw baselines.
libvirt_sdk = libvirt

__all__ = ["DOMAIN_STATS_FLAGS", "libvirt_sdk"]
