"""Models of the hypervisors app: hosts, images, VMs, networks and storage."""

from hypervisors.models.hosts import Host, HostStatSample, UnmanagedDomain
from hypervisors.models.images import MIN_VM_MEMORY_MIB, Image
from hypervisors.models.networks import AddressPool, VirtualNetwork, VMInterface
from hypervisors.models.storage import StoragePool, StorageVolume
from hypervisors.models.vms import Snapshot, VirtualMachine, VMStatSample

__all__ = [
    "MIN_VM_MEMORY_MIB",
    "AddressPool",
    "Host",
    "HostStatSample",
    "Image",
    "Snapshot",
    "StoragePool",
    "StorageVolume",
    "UnmanagedDomain",
    "VMInterface",
    "VMStatSample",
    "VirtualMachine",
    "VirtualNetwork",
]
