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
