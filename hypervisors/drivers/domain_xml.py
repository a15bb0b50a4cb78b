"""libvirt XML documents built with ElementTree, never by string formatting.

Names, paths and metadata come from the database and, indirectly, from users:
ElementTree escapes them, so no value can close a tag or open a new one.
"""

from __future__ import annotations

import ipaddress
import secrets
import xml.etree.ElementTree as ET

from hypervisors.drivers.base import DomainSpec, InterfaceSpec, NetworkSpec

#: Namespace of the portal's own metadata inside a domain.
METADATA_NS = "urn:x-portal:vm:1"
ET.register_namespace("portal", METADATA_NS)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def domain_xml(spec: DomainSpec) -> str:
    """The XML of a persistent domain that boots a kernel directly and has one qcow2 disk."""
    domain = ET.Element("domain", {"type": spec.domain_type})
    _sub(domain, "name", spec.name)
    _sub(domain, "uuid", spec.uuid)
    if spec.metadata:
        metadata = _sub(domain, "metadata")
        portal = ET.SubElement(metadata, f"{{{METADATA_NS}}}vm")
        for key, value in sorted(spec.metadata.items()):
            ET.SubElement(portal, f"{{{METADATA_NS}}}{key}").text = value
    _sub(domain, "memory", str(spec.memory_mib), unit="MiB")
    _sub(domain, "currentMemory", str(spec.memory_mib), unit="MiB")
    _sub(domain, "vcpu", str(spec.vcpus), placement="static")

    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm")
    _sub(os_element, "kernel", spec.kernel_path)
    if spec.initrd_path:
        _sub(os_element, "initrd", spec.initrd_path)
    if spec.kernel_cmdline:
        _sub(os_element, "cmdline", spec.kernel_cmdline)

    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")

    devices = _sub(domain, "devices")
    disk = _sub(devices, "disk", type="file", device="disk")
    _sub(disk, "driver", name="qemu", type="qcow2")
    _sub(disk, "source", file=spec.disk_path)
    _sub(disk, "target", dev="vda", bus="virtio")
    if spec.seed_path:
        devices.append(seed_cdrom_element(spec.seed_path))
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")
    interfaces = spec.interfaces or ((InterfaceSpec(mac="", network=spec.network),) if spec.network else ())
    for card in interfaces:
        devices.append(interface_element(card))
    serial = _sub(devices, "serial", type="pty")
    if spec.console_log:
        _sub(serial, "log", file=spec.console_log, append="off")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    if spec.graphics:
        devices.append(graphics_element(password=secrets.token_urlsafe(6)[:VNC_PASSWORD_LENGTH]))
    return ET.tostring(domain, encoding="unicode")


#: Where a VNC display listens: the host's loopback only; the portal relays it, nobody else reaches it.
VNC_LISTEN = "127.0.0.1"
#: VNC authentication uses at most 8 characters of a password.
VNC_PASSWORD_LENGTH = 8


def graphics_element(*, password: str, valid_to: str = "") -> ET.Element:
    """A VNC ``<graphics>`` device on the loopback with a password (and when that password stops working).

    A domain is defined with a random password that nobody keeps, so even a local user of the host
    cannot open the display; each console session sets a fresh one through libvirt (``valid_to``, UTC).
    """
    attributes = {"type": "vnc", "port": "-1", "autoport": "yes", "listen": VNC_LISTEN, "passwd": password}
    if valid_to:
        attributes["passwdValidTo"] = valid_to
    graphics = ET.Element("graphics", attributes)
    _sub(graphics, "listen", type="address", address=VNC_LISTEN)
    return graphics


def seed_cdrom_element(path: str) -> ET.Element:
    """A read-only CD-ROM holding a first-boot seed, on virtio-scsi: the bus of every machine type (pc and q35)."""
    disk = ET.Element("disk", {"type": "file", "device": "cdrom"})
    _sub(disk, "driver", name="qemu", type="raw")
    _sub(disk, "source", file=path)
    _sub(disk, "target", dev="sda", bus="scsi")
    _sub(disk, "readonly")
    return disk


def interface_element(card: InterfaceSpec) -> ET.Element:
    """An ``<interface>`` device: virtio on a libvirt network with its traffic filter, or QEMU user-mode networking.

    The filter gets no ``IP`` parameter: libvirt then learns the guest's address
    from its first packets (DHCP), which stays right when a lease changes. A
    user-mode card has no host-side device to filter, and no neighbours.
    """
    interface = ET.Element("interface", {"type": "user" if card.user_mode else "network"})
    if card.mac:
        _sub(interface, "mac", address=card.mac)
    if not card.user_mode:
        _sub(interface, "source", network=card.network)
    _sub(interface, "model", type="virtio")
    if not card.user_mode and card.traffic_filter:
        _sub(interface, "filterref", filter=card.traffic_filter)
    return interface


def interface_xml(card: InterfaceSpec) -> str:
    """The XML of one network card, to attach to a VM."""
    return ET.tostring(interface_element(card), encoding="unicode")


def network_xml(spec: NetworkSpec) -> str:
    """The XML of a libvirt network: NAT, routed or isolated with a gateway and DHCP, or on a host bridge."""
    network = ET.Element("network")
    _sub(network, "name", spec.name)
    _sub(network, "uuid", spec.uuid)
    if spec.forward:
        _sub(network, "forward", mode=spec.forward)
    if spec.bridge:
        _sub(network, "bridge", name=spec.bridge)
    if spec.openvswitch:
        _sub(network, "virtualport", type="openvswitch")
    if spec.subnet:
        subnet = ipaddress.IPv4Network(spec.subnet)
        hosts = list(_first_last_host(subnet))
        ip = _sub(network, "ip", address=str(hosts[0]), netmask=str(subnet.netmask))
        dhcp = _sub(ip, "dhcp")
        _sub(dhcp, "range", start=str(hosts[0] + 1), end=str(hosts[1]))
    return ET.tostring(network, encoding="unicode")


def _first_last_host(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The gateway (first usable address) and the last usable address of a subnet."""
    return subnet.network_address + 1, subnet.broadcast_address - 1


def network_leases_parse(leases: list[dict[str, object]]) -> dict[str, list[str]]:
    """libvirt DHCP lease records as addresses by MAC."""
    found: dict[str, list[str]] = {}
    for lease in leases:
        mac, address = str(lease.get("mac", "")).lower(), str(lease.get("ipaddr", ""))
        if mac and address:
            found.setdefault(mac, []).append(address)
    return found


def pool_xml(*, name: str, path: str) -> str:
    """The XML of a directory storage pool."""
    pool = ET.Element("pool", {"type": "dir"})
    _sub(pool, "name", name)
    target = _sub(pool, "target")
    _sub(target, "path", path)
    return ET.tostring(pool, encoding="unicode")


def raw_volume_xml(*, name: str, capacity_bytes: int) -> str:
    """The XML of a raw volume of exactly ``capacity_bytes`` (a seed image uploaded into it)."""
    volume = ET.Element("volume")
    _sub(volume, "name", name)
    _sub(volume, "capacity", str(capacity_bytes), unit="B")
    target = _sub(volume, "target")
    _sub(target, "format", type="raw")
    return ET.tostring(volume, encoding="unicode")


def volume_xml(*, name: str, capacity_gib: int) -> str:
    """The XML of a thin qcow2 volume of the given capacity."""
    volume = ET.Element("volume")
    _sub(volume, "name", name)
    _sub(volume, "capacity", str(capacity_gib), unit="GiB")
    _sub(volume, "allocation", "0", unit="B")
    target = _sub(volume, "target")
    _sub(target, "format", type="qcow2")
    return ET.tostring(volume, encoding="unicode")


def snapshot_xml(*, name: str) -> str:
    """The XML of a snapshot with a name."""
    snapshot = ET.Element("domainsnapshot")
    _sub(snapshot, "name", name)
    return ET.tostring(snapshot, encoding="unicode")


def snapshot_creation_time(snapshot_document: str) -> int:
    """The creation time (Unix seconds) in a snapshot's XML; 0 when absent."""
    root = ET.fromstring(snapshot_document)  # noqa: S314 - the document comes from libvirt, not a user
    text = root.findtext("creationTime") or "0"
    return int(text) if text.isdigit() else 0


#: KiB in one unit of a libvirt memory element.
MEMORY_UNITS_KIB = {"b": 1 / 1024, "bytes": 1 / 1024, "KiB": 1, "k": 1, "MiB": 1024, "M": 1024, "GiB": 1024**2}


def memory_kib_of(domain_document: str, tag: str) -> int:
    """A memory element (``memory``, ``currentMemory``) of domain XML in KiB; 0 when absent."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    element = root.find(tag)
    if element is None or not (element.text or "").strip().isdigit():
        return 0
    return int(int(element.text or 0) * MEMORY_UNITS_KIB.get(element.get("unit", "KiB"), 1))


def guest_domain_types(capabilities_xml: str) -> tuple[str, ...]:
    """Domain types offered for hvm guests of the host's own architecture, best first.

    A host where libvirt offers ``kvm`` has usable hardware virtualisation;
    one that offers only ``qemu`` runs guests emulated.
    """
    root = ET.fromstring(capabilities_xml)  # noqa: S314 - the document comes from libvirt, not a user
    host_arch = root.findtext("host/cpu/arch")
    found: set[str] = set()
    for guest in root.findall("guest"):
        if guest.findtext("os_type") != "hvm":
            continue
        arch_element = guest.find("arch")
        if arch_element is None or arch_element.get("name") != host_arch:
            continue
        found.update(d.get("type", "") for d in arch_element.findall("domain"))
    order = ["kvm", "qemu", "test"]
    return tuple(sorted((t for t in found if t), key=lambda t: order.index(t) if t in order else len(order)))


def host_has_virtualization_extensions(capabilities_xml: str) -> bool:
    """Whether the host CPU in a capabilities document offers Intel VT-x (``vmx``) or AMD-V (``svm``).

    libvirt offers the ``kvm`` domain type whenever ``/dev/kvm`` exists, but a
    ``/dev/kvm`` can exist without those extensions (a paravirtual KVM inside a
    VM, for one); guests then crash early in boot. Without the extensions the
    portal runs guests emulated.
    """
    root = ET.fromstring(capabilities_xml)  # noqa: S314 - the document comes from libvirt, not a user
    features = {feature.get("name") for feature in root.findall("host/cpu/feature")}
    return bool(features & {"vmx", "svm"})


def domain_disk_paths(domain_document: str) -> list[str]:
    """Paths of the file-backed disks in a domain's XML."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    return [
        source.get("file", "")
        for disk in root.findall("devices/disk")
        if disk.get("device", "disk") == "disk"
        for source in disk.findall("source")
        if source.get("file")
    ]


def domain_macs(domain_document: str) -> set[str]:
    """MAC addresses of a domain's network cards."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    return {(mac.get("address") or "").lower() for mac in root.findall("devices/interface/mac")}


def domain_interface_by_mac(domain_document: str, mac: str) -> str | None:
    """The XML of the domain's network card with this MAC, as libvirt needs it to detach; None if absent."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    for interface in root.findall("devices/interface"):
        element = interface.find("mac")
        if element is not None and (element.get("address") or "").lower() == mac.lower():
            return ET.tostring(interface, encoding="unicode")
    return None


def domain_storage_paths(domain_document: str) -> set[str]:
    """Every piece of storage a domain's XML names: disk and CD-ROM sources (files, block devices,
    ``volume:<pool>/<name>`` for pool volumes) and the backing files of their chains.

    What a volume delete must not take away from a domain, so it errs on the side of naming more.
    """
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    found: set[str] = set()
    for source in (source for disk in root.findall("devices/disk") for source in disk.iter("source")):
        if source.get("file"):
            found.add(source.get("file", ""))
        elif source.get("dev"):
            found.add(source.get("dev", ""))
        elif source.get("pool") and source.get("volume"):
            found.add(f"volume:{source.get('pool')}/{source.get('volume')}")
    return found


def volume_backing_path(volume_document: str) -> str:
    """The backing file a volume's XML names (a qcow2 overlay's base); empty when it has none."""
    root = ET.fromstring(volume_document)  # noqa: S314 - the document comes from libvirt, not a user
    return (root.findtext("backingStore/path") or "").strip()
