"""Storage on the real ``qemu:///system``: the storage page shows what ``virsh pool-info`` reports, a volume
made with ``virsh vol-create-as`` is flagged an orphan, and the guarded delete (through a real worker)
removes it but refuses a volume a defined, never started domain uses.
"""

from __future__ import annotations

import contextlib
import re
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest
from django.test import Client

from hypervisors.drivers import driver_for
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.hosts.services import volume_delete_request
from hypervisors.models import StoragePool, StorageVolume
from portal.choices import JobState
from tests.factories import UserFactory
from tests.support.processes import job_wait
from tests.support.qemu import TEST_POOL, TEST_POOL_PATH, virsh

pytestmark = [pytest.mark.integration]

POOL_INFO_FIELDS = {"Capacity": "capacity", "Allocation": "allocation", "Available": "available"}


def pool_info_bytes() -> dict[str, int]:
    """``virsh pool-info <pool> --bytes`` as numbers, as an administrator reads it."""
    output = virsh("pool-info", TEST_POOL, "--bytes").stdout
    found = dict(re.findall(r"^(\w+):\s+(\d+)", output, re.MULTILINE))
    return {field: int(found[label]) for label, field in POOL_INFO_FIELDS.items()}


def holder_xml(name: str, disk_path: str) -> str:
    """A domain that is defined and never started, whose one disk is ``disk_path``."""
    domain = ET.Element("domain", {"type": "qemu"})
    ET.SubElement(domain, "name").text = name
    ET.SubElement(domain, "uuid").text = str(uuid.uuid4())
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = "64"
    ET.SubElement(domain, "vcpu").text = "1"
    ET.SubElement(ET.SubElement(domain, "os"), "type").text = "hvm"
    disk = ET.SubElement(ET.SubElement(domain, "devices"), "disk", {"type": "file", "device": "disk"})
    ET.SubElement(disk, "driver", {"name": "qemu", "type": "raw"})
    ET.SubElement(disk, "source", {"file": disk_path})
    ET.SubElement(disk, "target", {"dev": "vda", "bus": "virtio"})
    return ET.tostring(domain, encoding="unicode")


@pytest.fixture
def test_pool(qemu_host, live_team):
    """The tests' pool on the host, with the volumes this test makes removed afterwards (others' are left)."""
    with driver_for(qemu_host.uri) as driver:
        driver.pool_ensure(name=TEST_POOL, path=TEST_POOL_PATH)
    prefix = f"{live_team.slug}-"
    yield prefix
    conn = libvirt.open("qemu:///system")
    try:
        for volume in conn.storagePoolLookupByName(TEST_POOL).listAllVolumes(0):
            if volume.name().startswith(prefix):
                with contextlib.suppress(libvirt.libvirtError):
                    volume.delete(0)
    finally:
        conn.close()


def test_storage_page_orphans_and_the_guarded_delete(qemu_host, live_team, test_pool, celery_worker_process):
    orphan, used, holder = f"{test_pool}orphan.img", f"{test_pool}used.img", f"{live_team.slug}.holder"
    virsh("vol-create-as", TEST_POOL, orphan, "1M")
    virsh("vol-create-as", TEST_POOL, used, "1M")
    used_path = virsh("vol-path", used, "--pool", TEST_POOL).stdout.strip()
    conn = libvirt.open("qemu:///system")
    try:
        conn.defineXML(holder_xml(holder, used_path))  # cleaned up with its disk by the qemu_host fixture
    finally:
        conn.close()

    # Other runs may create volumes in the shared pool meanwhile: compare a reconcile that virsh agrees
    # with before and after it.
    for _attempt in range(5):
        before = pool_info_bytes()
        host_reconcile(host_id=qemu_host.pk)
        if pool_info_bytes() == before:
            break
    else:
        pytest.fail("the pool kept changing under the reconcile")
    pool = StoragePool.objects.get(host=qemu_host, name=TEST_POOL)
    assert {field: getattr(pool, field) for field in POOL_INFO_FIELDS.values()} == before
    assert pool.active

    staff = UserFactory(username="storage-admin", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get("/hosts/storage/").content.decode()
    section = page[page.index(f'id="pool-{pool.pk}"') :].split("<h3", 1)[0]
    for field, value in before.items():
        assert f'<data class="pool-{field}" value="{value}">' in section, field

    volumes = {volume.name: volume for volume in StorageVolume.objects.filter(pool=pool)}
    assert volumes[orphan].orphan
    assert volumes[orphan].capacity == 1024**2
    assert (volumes[used].orphan, volumes[used].used_by, volumes[used].kind) == (False, holder, "disk")
    assert f'id="volume-{volumes[orphan].pk}" class="orphan"' in page

    # The row of the used volume is made to say orphan (as a stale reconcile could): the worker asks the host.
    StorageVolume.objects.filter(pk=volumes[used].pk).update(orphan=True, used_by="")
    refused = job_wait(volume_delete_request(actor=staff, volume_id=volumes[used].pk).pk, 60, "the refused delete")
    assert refused.state == JobState.FAILED, celery_worker_process.log()
    assert holder in refused.error
    assert virsh("vol-info", used, "--pool", TEST_POOL, check=False).returncode == 0, "the used volume is still there"

    deleted = job_wait(volume_delete_request(actor=staff, volume_id=volumes[orphan].pk).pk, 60, "the delete")
    assert deleted.state == JobState.SUCCEEDED, f"{deleted.error}\n{celery_worker_process.log()}"
    assert virsh("vol-info", orphan, "--pool", TEST_POOL, check=False).returncode != 0
    assert not StorageVolume.objects.filter(pool=pool, name=orphan).exists()
