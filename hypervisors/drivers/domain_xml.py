"""libvirt XML documents built with ElementTree, never by string formatting.

Names, paths and metadata come from the database and, indirectly, from users:
ElementTree escapes them, so no value can close a tag or open a new one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypervisors.drivers.base import DomainSpec

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
    if spec.network:
        interface = _sub(devices, "interface", type="network")
        _sub(interface, "source", network=spec.network)
        _sub(interface, "model", type="virtio")
    serial = _sub(devices, "serial", type="pty")
    if spec.console_log:
        _sub(serial, "log", file=spec.console_log, append="off")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    return ET.tostring(domain, encoding="unicode")


def pool_xml(*, name: str, path: str) -> str:
    """The XML of a directory storage pool."""
    pool = ET.Element("pool", {"type": "dir"})
    _sub(pool, "name", name)
    target = _sub(pool, "target")
    _sub(target, "path", path)
    return ET.tostring(pool, encoding="unicode")


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
