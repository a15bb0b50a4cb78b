"""libvirt XML built with ElementTree: escaping, structure, and reading capabilities."""

import xml.etree.ElementTree as ET

import libvirt
import pytest

from hypervisors.drivers.base import DomainSpec
from hypervisors.drivers.domain_xml import (
    METADATA_NS,
    domain_xml,
    guest_domain_types,
    host_has_virtualization_extensions,
    pool_xml,
    volume_xml,
)

HOSTILE = "a<b>&c'd\"e]]>f</name><evil/>"
UUID = "6c2f1e47-3a55-4d0c-9e43-2b3f4a5b6c7d"


def spec(**changes):
    values = {
        "uuid": UUID,
        "name": "blue.web",
        "domain_type": "kvm",
        "vcpus": 2,
        "memory_mib": 256,
        "disk_path": "/var/lib/libvirt/images/disk.qcow2",
        "kernel_path": "/images/vmlinuz",
        "initrd_path": "/images/initramfs.cpio.gz",
        "kernel_cmdline": "console=ttyS0 quiet",
        "network": "default",
        "metadata": {"team": "blue", "name": "web", "owner": "alice"},
    }
    values.update(changes)
    return DomainSpec(**values)


def parse(xml):
    return ET.fromstring(xml)


def test_domain_xml_structure():
    root = parse(domain_xml(spec()))
    assert root.tag == "domain"
    assert root.get("type") == "kvm"
    assert root.findtext("name") == "blue.web"
    assert root.findtext("uuid") == UUID
    assert root.find("memory").attrib == {"unit": "MiB"}
    assert root.findtext("memory") == root.findtext("currentMemory") == "256"
    assert root.findtext("vcpu") == "2"
    assert root.findtext("os/type") == "hvm"
    assert root.findtext("os/kernel") == "/images/vmlinuz"
    assert root.findtext("os/initrd") == "/images/initramfs.cpio.gz"
    assert root.findtext("os/cmdline") == "console=ttyS0 quiet"
    disks = root.findall("devices/disk")
    assert len(disks) == 1
    assert disks[0].find("driver").attrib == {"name": "qemu", "type": "qcow2"}
    assert disks[0].find("source").get("file") == "/var/lib/libvirt/images/disk.qcow2"
    assert disks[0].find("target").attrib == {"dev": "vda", "bus": "virtio"}
    interfaces = root.findall("devices/interface")
    assert len(interfaces) == 1
    assert interfaces[0].get("type") == "network"
    assert interfaces[0].find("source").get("network") == "default"
    assert root.find("devices/serial") is not None
    assert root.find("devices/console/target").get("type") == "serial"


def test_domain_xml_optional_parts_left_out():
    root = parse(domain_xml(spec(network="", initrd_path="", kernel_cmdline="", metadata={})))
    assert root.find("devices/interface") is None
    assert root.find("os/initrd") is None
    assert root.find("os/cmdline") is None
    assert root.find("metadata") is None


def test_serial_console_log_only_when_asked():
    assert parse(domain_xml(spec())).find("devices/serial/log") is None
    log = parse(domain_xml(spec(console_log="/var/log/libvirt/qemu/a&b.log"))).find("devices/serial/log")
    assert log.attrib == {"file": "/var/log/libvirt/qemu/a&b.log", "append": "off"}


def test_a_vnc_display_only_when_asked_on_loopback_with_a_random_password_nobody_keeps():
    assert parse(domain_xml(spec())).find("devices/graphics") is None
    first, second = (parse(domain_xml(spec(graphics=True))).find("devices/graphics") for _ in range(2))
    assert first.get("type") == "vnc" and first.get("autoport") == "yes"
    assert first.get("listen") == "127.0.0.1"
    assert first.find("listen").attrib == {"type": "address", "address": "127.0.0.1"}
    assert len(first.get("passwd")) == 8 and first.get("passwd") != second.get("passwd")


@pytest.mark.parametrize("value", ["<", "&", "'", "]]>", '"', HOSTILE, "<!-- x -->", "<![CDATA[x]]>", "é ü 名前"])
def test_hostile_values_are_escaped_and_round_trip(value):
    xml = domain_xml(
        spec(
            name=f"blue.{value}",
            kernel_path=f"/k/{value}",
            disk_path=f"/d/{value}.qcow2",
            kernel_cmdline=f"x={value}",
            network=value,
            metadata={"team": value, "name": value, "owner": value},
        )
    )
    root = parse(xml)  # parses: no value closed a tag or opened a new one
    assert root.findtext("name") == f"blue.{value}"
    assert root.findtext("os/kernel") == f"/k/{value}"
    assert root.findtext("os/cmdline") == f"x={value}"
    assert root.find("devices/disk/source").get("file") == f"/d/{value}.qcow2"
    assert root.find("devices/interface/source").get("network") == value
    vm = root.find(f"metadata/{{{METADATA_NS}}}vm")
    assert [child.text for child in vm] == [value, value, value]
    # no element was injected anywhere
    assert root.find(".//evil") is None
    assert len(root.findall("name")) == 1


def test_metadata_in_the_portal_namespace():
    xml = domain_xml(spec())
    root = parse(xml)
    metadata = root.find("metadata")
    assert metadata is not None
    vm = metadata.find(f"{{{METADATA_NS}}}vm")
    assert vm is not None
    # keys sorted, each its own namespaced element
    assert [(child.tag, child.text) for child in vm] == [
        (f"{{{METADATA_NS}}}name", "web"),
        (f"{{{METADATA_NS}}}owner", "alice"),
        (f"{{{METADATA_NS}}}team", "blue"),
    ]
    assert f'xmlns:portal="{METADATA_NS}"' in xml


def test_hostile_name_round_trips_through_libvirt(libvirt_test_host):
    name = "a<b>&c'd\"e]]>f<evil x='1'>"  # libvirt itself refuses only "/" in names
    conn = libvirt.open("test:///default")
    try:
        domain = conn.defineXML(domain_xml(spec(domain_type="test", name=name)))
        assert domain.name() == name
        assert conn.lookupByUUIDString(UUID).name() == name
        stored = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)
        # libvirt hands back the element of our namespace, stripped of it
        assert parse(stored).findtext("owner") == "alice"
    finally:
        conn.close()


def test_pool_xml():
    root = parse(pool_xml(name="portal & <co>", path="/srv/pool ']]>"))
    assert root.tag == "pool"
    assert root.get("type") == "dir"
    assert root.findtext("name") == "portal & <co>"
    assert root.findtext("target/path") == "/srv/pool ']]>"


def test_volume_xml():
    root = parse(volume_xml(name="x<y>.qcow2", capacity_gib=20))
    assert root.tag == "volume"
    assert root.findtext("name") == "x<y>.qcow2"
    assert root.findtext("capacity") == "20"
    assert root.find("capacity").get("unit") == "GiB"
    assert root.findtext("allocation") == "0"
    assert root.find("target/format").get("type") == "qcow2"


# -- capabilities ------------------------------------------------------------------------------


def capabilities(host_arch, *guests):
    """A capabilities document; each guest is (os_type, arch, [domain types])."""
    root = ET.Element("capabilities")
    ET.SubElement(ET.SubElement(ET.SubElement(root, "host"), "cpu"), "arch").text = host_arch
    for os_type, arch, types in guests:
        guest = ET.SubElement(root, "guest")
        ET.SubElement(guest, "os_type").text = os_type
        arch_element = ET.SubElement(guest, "arch", {"name": arch})
        for domain_type in types:
            ET.SubElement(arch_element, "domain", {"type": domain_type})
    return ET.tostring(root, encoding="unicode")


def test_guest_domain_types_kvm_before_qemu():
    xml = capabilities("x86_64", ("hvm", "x86_64", ["qemu", "kvm"]))
    assert guest_domain_types(xml) == ("kvm", "qemu")


def test_guest_domain_types_only_qemu():
    xml = capabilities("x86_64", ("hvm", "x86_64", ["qemu"]), ("hvm", "i686", ["qemu"]))
    assert guest_domain_types(xml) == ("qemu",)


def test_guest_domain_types_ignores_other_architectures_and_os_types():
    xml = capabilities(
        "x86_64",
        ("hvm", "aarch64", ["kvm", "qemu"]),
        ("xen", "x86_64", ["xen"]),
        ("hvm", "x86_64", ["qemu"]),
    )
    assert guest_domain_types(xml) == ("qemu",)


def test_guest_domain_types_none_offered():
    assert guest_domain_types(capabilities("x86_64", ("hvm", "aarch64", ["qemu"]))) == ()
    assert guest_domain_types(capabilities("x86_64")) == ()


def test_guest_domain_types_merges_guests_and_keeps_unknown_last():
    xml = capabilities("x86_64", ("hvm", "x86_64", ["hvf", "qemu"]), ("hvm", "x86_64", ["kvm"]))
    assert guest_domain_types(xml) == ("kvm", "qemu", "hvf")


def test_guest_domain_types_of_the_test_driver(libvirt_test_host):
    conn = libvirt.open("test:///default")
    try:
        assert guest_domain_types(conn.getCapabilities()) == ("test",)
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("features", "expected"),
    [(["vmx", "pae"], True), (["svm"], True), (["hypervisor", "pae"], False), ([], False)],
)
def test_host_has_virtualization_extensions(features, expected):
    cpu = "".join(f"<feature policy='require' name='{name}'/>" for name in features)
    xml = f"<capabilities><host><cpu><arch>x86_64</arch>{cpu}</cpu></host></capabilities>"
    assert host_has_virtualization_extensions(xml) is expected


def test_test_driver_has_no_virtualization_extensions(libvirt_test_host):
    conn = libvirt.open("test:///default")
    try:
        assert host_has_virtualization_extensions(conn.getCapabilities()) is False
    finally:
        conn.close()


def test_a_seed_is_a_read_only_cdrom_on_virtio_scsi_and_no_seed_adds_nothing():
    root = parse(domain_xml(spec(seed_path="/pool/uuid-seed.iso")))
    cdrom = root.find("devices/disk[@device='cdrom']")
    assert cdrom is not None
    assert cdrom.find("source").get("file") == "/pool/uuid-seed.iso"
    assert cdrom.find("target").attrib == {"dev": "sda", "bus": "scsi"}
    assert cdrom.find("driver").get("type") == "raw" and cdrom.find("readonly") is not None
    assert root.find("devices/controller[@type='scsi']").get("model") == "virtio-scsi"
    plain = parse(domain_xml(spec()))
    assert plain.find("devices/disk[@device='cdrom']") is None and plain.find("devices/controller") is None
