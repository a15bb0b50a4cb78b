"""libvirt's in-process ``test:///default`` hypervisor as tests see it (the host row is ``libvirt_test_host``)."""

from __future__ import annotations

import libvirt

TEST_URI = "test:///default"
#: The storage pool the test driver starts with.
POOL = "default-pool"


def volumes(conn: libvirt.virConnect) -> list[str]:
    """The volume names in the test pool, as an administrator would list them."""
    pool = conn.storagePoolLookupByName(POOL)
    pool.refresh(0)
    return sorted(pool.listVolumes())


def volume_create(conn: libvirt.virConnect, name: str, capacity_bytes: int) -> str:
    """Create a raw volume in the test pool behind the portal's back (as ``virsh vol-create-as``); its path."""
    import xml.etree.ElementTree as ET

    volume = ET.Element("volume")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(capacity_bytes)
    pool = conn.storagePoolLookupByName(POOL)
    return str(pool.createXML(ET.tostring(volume, encoding="unicode"), 0).path())
