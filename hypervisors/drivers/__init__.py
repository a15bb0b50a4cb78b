"""Hypervisor drivers. Only this package imports libvirt; everything else calls :func:`driver_for`."""

from hypervisors.drivers.base import (
    CLEAN_TRAFFIC_FILTER,
    DomainNotFound,
    DomainSpec,
    DomainStats,
    DomainStatus,
    DriverError,
    HostFacts,
    HostUnreachable,
    HostUsage,
    HypervisorDriver,
    InterfaceSpec,
    NetworkSpec,
    NetworkStatus,
    ResizeResult,
)
from hypervisors.drivers.storage_contract import PoolStatus, VolumeInUse, VolumeStatus


def driver_for(uri: str) -> HypervisorDriver:
    """The driver for a host URI. Every URI we accept today is a libvirt one."""
    from hypervisors.drivers.libvirt_driver import LibvirtDriver

    return LibvirtDriver(uri)


__all__ = [
    "CLEAN_TRAFFIC_FILTER",
    "DomainNotFound",
    "DomainSpec",
    "DomainStats",
    "DomainStatus",
    "DriverError",
    "HostFacts",
    "HostUnreachable",
    "HostUsage",
    "HypervisorDriver",
    "InterfaceSpec",
    "NetworkSpec",
    "NetworkStatus",
    "PoolStatus",
    "ResizeResult",
    "VolumeInUse",
    "VolumeStatus",
    "driver_for",
]
