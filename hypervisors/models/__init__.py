"""Models of the hypervisors app: hosts, images, VMs and networks."""

from hypervisors.models.hosts import Host, HostStatSample, UnmanagedDomain
from hypervisors.models.images import MIN_VM_MEMORY_MIB, Image
from hypervisors.models.networks import AddressPool, VirtualNetwork, VMInterface
from hypervisors.models.vms import Snapshot, VirtualMachine, VMStatSample

__all__ = [
    "MIN_VM_MEMORY_MIB",
    "AddressPool",
    "Host",
    "HostStatSample",
    "Image",
    "Snapshot",
    "UnmanagedDomain",
    "VMInterface",
    "VMStatSample",
    "VirtualMachine",
    "VirtualNetwork",
]
