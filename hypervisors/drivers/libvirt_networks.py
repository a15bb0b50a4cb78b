"""The libvirt driver's networks: define, start, stop and delete libvirt networks, read DHCP leases,
and plug a running domain's network cards in and out.
"""

from __future__ import annotations

import libvirt

from hypervisors.drivers.base import DriverError, InterfaceSpec, NetworkSpec, NetworkStatus, ResizeResult
from hypervisors.drivers.domain_xml import (
    domain_interface_by_mac,
    domain_macs,
    interface_xml,
    network_leases_parse,
    network_xml,
)
from hypervisors.drivers.libvirt_common import translate_errors


class LibvirtNetworks:
    """Network methods of :class:`hypervisors.drivers.libvirt_driver.LibvirtDriver` (the contract is in ``base.py``)."""

    @property
    def conn(self) -> libvirt.virConnect:
        raise NotImplementedError

    def _domain(self, uuid: str) -> libvirt.virDomain:
        raise NotImplementedError

    def _network(self, uuid: str) -> libvirt.virNetwork | None:
        try:
            return self.conn.networkLookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                return None
            raise

    @translate_errors
    def network_define(self, spec: NetworkSpec) -> None:
        if self._network(spec.uuid) is None:
            self.conn.networkDefineXML(network_xml(spec))

    @translate_errors
    def network_start(self, uuid: str, *, autostart: bool) -> None:
        network = self._network(uuid)
        if network is None:
            raise DriverError("The network is not defined on the host.")
        if not network.isActive():
            network.create()
        network.setAutostart(1 if autostart else 0)

    @translate_errors
    def network_filter_present(self, name: str) -> bool | None:
        try:
            self.conn.nwfilterLookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_NWFILTER:
                return False
            if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                return None  # a driver without network filters (libvirt's test driver)
            raise
        return True

    @translate_errors
    def network_stop(self, uuid: str) -> None:
        network = self._network(uuid)
        if network is not None and network.isActive():
            network.destroy()

    @translate_errors
    def network_delete(self, uuid: str) -> None:
        network = self._network(uuid)
        if network is None:
            return
        if network.isActive():
            network.destroy()
        network.undefine()

    @translate_errors
    def networks_list(self) -> list[NetworkStatus]:
        statuses = []
        for network in self.conn.listAllNetworks(0):
            try:
                bridge = network.bridgeName()
            except libvirt.libvirtError:
                bridge = ""
            statuses.append(
                NetworkStatus(
                    uuid=network.UUIDString(), name=network.name(), active=bool(network.isActive()), bridge=bridge
                )
            )
        return statuses

    @translate_errors
    def network_leases(self, name: str) -> dict[str, list[str]]:
        try:
            return network_leases_parse(self.conn.networkLookupByName(name).DHCPLeases())
        except libvirt.libvirtError as error:
            if error.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_NO_NETWORK):
                return {}
            raise

    @translate_errors
    def domain_interface_attach(self, uuid: str, interface: InterfaceSpec) -> ResizeResult:
        domain = self._domain(uuid)
        if interface.mac.lower() in domain_macs(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return ResizeResult(live=bool(domain.isActive()))
        live = bool(domain.isActive())
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0)
        domain.attachDeviceFlags(interface_xml(interface), flags)
        return ResizeResult(live=live)

    @translate_errors
    def domain_interface_detach(self, uuid: str, mac: str) -> ResizeResult:
        domain = self._domain(uuid)
        live = bool(domain.isActive())
        for flag, document in (
            (libvirt.VIR_DOMAIN_AFFECT_CONFIG, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)),
            (libvirt.VIR_DOMAIN_AFFECT_LIVE, domain.XMLDesc(0) if live else ""),
        ):
            element = domain_interface_by_mac(document, mac) if document else None
            if element is not None:
                domain.detachDeviceFlags(element, flag)
        return ResizeResult(live=live)
