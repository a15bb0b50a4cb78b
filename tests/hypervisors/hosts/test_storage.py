"""The storage part of the reconcile on libvirt's ``test:///default`` hypervisor: the bulk read of its pool,
who owns each volume, the orphans, and rows that follow pools and volumes away."""

from __future__ import annotations

import uuid

import libvirt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hypervisors.choices import VolumeKind
from hypervisors.drivers import DomainSpec, driver_for
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.models import StoragePool, StorageVolume
from tests.factories import VirtualMachineFactory
from tests.support.libvirt_test import POOL, TEST_URI, volume_create

pytestmark = pytest.mark.django_db


def domain_define(name: str, disk_path: str, domain_uuid: str | None = None) -> str:
    """A shut-off domain on the test hypervisor whose disk is ``disk_path``; returns its UUID."""
    spec = DomainSpec(
        uuid=domain_uuid or str(uuid.uuid4()),
        name=name,
        domain_type="test",
        vcpus=1,
        memory_mib=64,
        disk_path=disk_path,
        kernel_path="/images/vmlinuz",
    )
    with driver_for(TEST_URI) as driver:
        driver.domain_define(spec)
    return spec.uuid


def rows(host) -> dict[str, StorageVolume]:
    return {volume.name: volume for volume in StorageVolume.objects.filter(pool__host=host)}


def test_the_bulk_read_gives_each_pool_and_volume_as_libvirt_does(host, conn):
    volume_create(conn, "stray.img", 1024**2)
    with driver_for(TEST_URI) as driver:
        pools = {pool.name: pool for pool in driver.storage_pools()}
    pool = conn.storagePoolLookupByName(POOL)
    _state, capacity, allocation, available = pool.info()
    found = pools[POOL]
    assert (found.capacity, found.allocation, found.available, found.active) == (capacity, allocation, available, True)
    volume = pool.storageVolLookupByName("stray.img")
    assert [(v.name, v.path, v.capacity, v.allocation) for v in found.volumes] == [
        ("stray.img", volume.path(), volume.info()[1], volume.info()[2])
    ]


def test_the_reconcile_stores_pools_and_volumes(host, conn):
    volume_create(conn, "stray.img", 1024**2)
    host_reconcile(host_id=host.pk)
    pool = StoragePool.objects.get(host=host, name=POOL)
    info = conn.storagePoolLookupByName(POOL).info()
    assert (pool.capacity, pool.allocation, pool.available, pool.active) == (info[1], info[2], info[3], True)
    assert list(rows(host)) == ["stray.img"]


def test_owners_by_domain_use_and_by_the_portals_naming_and_orphans_flagged(host, conn, team):
    by_use = VirtualMachineFactory(team=team, host=host, name="by-use")
    by_name = VirtualMachineFactory(team=team, host=host, name="by-name", state="building")
    used = volume_create(conn, "handmade-disk.qcow2", 1024**2)
    domain_define(by_use.domain_name, used, str(by_use.uuid))
    volume_create(conn, by_name.volume_name, 1024**2)  # built, its domain not defined yet
    unmanaged_disk = volume_create(conn, "theirs.qcow2", 1024**2)
    domain_define("hand-made", unmanaged_disk)
    for stray in ("stray.img", "nightly-backup.qcow2", "web-seed.iso"):
        volume_create(conn, stray, 1024**2)

    host_reconcile(host_id=host.pk)

    found = rows(host)
    assert (found["handmade-disk.qcow2"].owner, found["handmade-disk.qcow2"].used_by) == (by_use, by_use.domain_name)
    assert found[by_name.volume_name].owner == by_name
    assert (found["theirs.qcow2"].owner, found["theirs.qcow2"].used_by) == (None, "hand-made")
    assert {name for name, volume in found.items() if volume.orphan} == {
        "stray.img",
        "nightly-backup.qcow2",
        "web-seed.iso",
    }
    kinds = {name: volume.kind for name, volume in found.items()}
    assert kinds == {
        "handmade-disk.qcow2": VolumeKind.DISK,
        by_name.volume_name: VolumeKind.DISK,
        "theirs.qcow2": VolumeKind.DISK,
        "stray.img": VolumeKind.OTHER,
        "nightly-backup.qcow2": VolumeKind.BACKUP,
        "web-seed.iso": VolumeKind.SEED,
    }


def test_a_volume_a_domain_takes_is_no_orphan_any_more(host, conn):
    path = volume_create(conn, "stray.img", 1024**2)
    host_reconcile(host_id=host.pk)
    assert rows(host)["stray.img"].orphan
    domain_define("adopter", path)
    host_reconcile(host_id=host.pk)
    assert (rows(host)["stray.img"].orphan, rows(host)["stray.img"].used_by) == (False, "adopter")


def test_rows_follow_volumes_and_pools_away(host, conn):
    volume_create(conn, "one.img", 1024**2)
    volume_create(conn, "two.img", 1024**2)
    host_reconcile(host_id=host.pk)
    conn.storagePoolLookupByName(POOL).storageVolLookupByName("one.img").delete(0)
    host_reconcile(host_id=host.pk)
    assert list(rows(host)) == ["two.img"]

    pool = conn.storagePoolLookupByName(POOL)
    pool.destroy()
    host_reconcile(host_id=host.pk)
    stopped = StoragePool.objects.get(host=host, name=POOL)
    assert not stopped.active
    assert list(rows(host)) == ["two.img"], "an inactive pool's volumes are unknown, not gone"

    pool.undefine()
    host_reconcile(host_id=host.pk)
    assert not StoragePool.objects.filter(host=host).exists()
    assert not StorageVolume.objects.filter(pool__host=host).exists()


def test_a_steady_host_writes_no_storage_row(host, conn):
    volume_create(conn, "stray.img", 1024**2)
    host_reconcile(host_id=host.pk)
    with CaptureQueriesContext(connection) as queries:
        host_reconcile(host_id=host.pk)
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if "hypervisors_storage" in query["sql"]
        and query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    reads = [query["sql"] for query in queries.captured_queries if "hypervisors_storage" in query["sql"]]
    assert writes == []
    assert len(reads) == 1, "the host's pools: their volumes' digest is unchanged, so the volumes are not read"


def test_disk_paths_come_from_the_definitions_only_when_a_volume_is_unexplained(host, conn, team, monkeypatch):
    """The test driver's bulk statistics carry no disk paths: definitions are read, but only when needed."""
    from hypervisors.drivers.libvirt_driver import LibvirtDriver

    asked: list[object] = []
    original = LibvirtDriver.domains_disk_paths

    def counted(self, uuids=None):
        asked.append(uuids)
        return original(self, uuids)

    monkeypatch.setattr(LibvirtDriver, "domains_disk_paths", counted)
    vm = VirtualMachineFactory(team=team, host=host, name="named")
    volume_create(conn, vm.volume_name, 1024**2)
    host_reconcile(host_id=host.pk)
    assert asked == [], "every volume is explained by the portal's naming"
    volume_create(conn, "stray.img", 1024**2)
    host_reconcile(host_id=host.pk)
    assert len(asked) == 1


def test_driver_names_the_storage_of_each_definition(host, conn):
    path = volume_create(conn, "disk.qcow2", 1024**2)
    domain_uuid = domain_define("user", path)
    with driver_for(TEST_URI) as driver:
        everyone = driver.domains_disk_paths()
        one = driver.domains_disk_paths([domain_uuid])
    assert everyone[domain_uuid] == (path,)
    assert one == {domain_uuid: (path,)}


def test_storage_the_host_fails_to_report_leaves_the_rows_and_the_reconcile_goes_on(host, conn, monkeypatch):
    volume_create(conn, "stray.img", 1024**2)
    host_reconcile(host_id=host.pk)

    def refuse(self, flags=0):
        raise libvirt.libvirtError("storage driver unavailable")

    monkeypatch.setattr(libvirt.virConnect, "listAllStoragePools", refuse)
    report = host_reconcile(host_id=host.pk)
    assert report.reachable
    host.refresh_from_db()
    assert host.is_reachable
    assert list(rows(host)) == ["stray.img"]


def test_a_wrapped_around_figure_is_read_as_nothing(tmp_path):
    """libvirt's sizes are unsigned: an over-allocated test pool reports its "available" wrapped around."""
    node = tmp_path / "node.xml"
    node.write_text(
        "<node><pool type='dir'><name>over</name><uuid>0e6f1c5a-8b4b-4f0e-9a55-2d3c1e0f9b11</uuid>"
        "<target><path>/over</path></target><volume type='file'><name>big.img</name>"
        f"<capacity>{200 * 1024**3}</capacity><allocation>{200 * 1024**3}</allocation>"
        "<target><path>/over/big.img</path></target></volume></pool></node>"
    )
    raw = libvirt.open(f"test://{node}")
    try:
        assert raw.storagePoolLookupByName("over").info()[3] >= 2**63, "the figure this test is about"
        with driver_for(f"test://{node}") as driver:
            (pool,) = driver.storage_pools()
    finally:
        raw.close()
    assert (pool.allocation, pool.available) == (200 * 1024**3, 0)
