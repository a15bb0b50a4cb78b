"""The libvirt driver against libvirt's own in-process ``test:///default`` hypervisor."""

import uuid
from collections.abc import Iterator

import libvirt
import pytest

from hypervisors.drivers import DomainNotFound, DomainSpec, DriverError, HostUnreachable, driver_for
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from tests.support.libvirt_test import POOL, TEST_URI

UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"


@pytest.fixture
def driver(libvirt_test_host) -> Iterator[LibvirtDriver]:
    with driver_for(TEST_URI) as opened:
        assert isinstance(opened, LibvirtDriver)
        yield opened


def spec(name="blue.web", **changes):
    values = {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "domain_type": "test",
        "vcpus": 1,
        "memory_mib": 64,
        "disk_path": "/default-pool/disk.qcow2",
        "kernel_path": "/images/vmlinuz",
        "network": "default",
        "metadata": {"team": "blue"},
    }
    values.update(changes)
    return DomainSpec(**values)


# -- connection and probe ------------------------------------------------------------------------


def test_probe_reads_the_hosts_facts(driver, conn):
    facts = driver.probe()
    assert facts.cpus == 16
    assert facts.memory_mib == 3072
    assert facts.domain_types == ("test",)
    assert facts.hostname == conn.getHostname()
    version = libvirt.getVersion()
    assert facts.libvirt_version == f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"
    assert facts.hypervisor_version == "0.0.2"  # the test driver's own version number, 2


def test_connection_opens_lazily_and_close_is_idempotent(libvirt_test_host):
    driver = LibvirtDriver(TEST_URI)
    assert driver._conn is None
    driver.probe()
    assert driver._conn is not None
    driver.close()
    driver.close()
    assert driver._conn is None
    # it reopens on next use
    assert driver.probe().cpus == 16
    driver.close()


def test_context_manager_closes(libvirt_test_host):
    with driver_for(TEST_URI) as driver:
        driver.probe()
        assert driver._conn is not None
    assert driver._conn is None


def test_unreachable_uri_raises_host_unreachable():
    driver = driver_for(UNREACHABLE_URI)
    with pytest.raises(HostUnreachable) as caught:
        driver.probe()
    assert str(caught.value)
    assert isinstance(caught.value, DriverError)
    assert isinstance(caught.value.__cause__, libvirt.libvirtError)
    for call in (driver.domains_list, lambda: driver.domain_delete(str(uuid.uuid4()))):
        with pytest.raises(HostUnreachable):
            call()
    driver.close()


# -- storage ----------------------------------------------------------------------------------------


def test_pool_ensure_defines_a_missing_pool_and_is_idempotent(driver, conn, tmp_path):
    path = str(tmp_path / "pool")
    with pytest.raises(libvirt.libvirtError):
        conn.storagePoolLookupByName("portal")
    driver.pool_ensure(name="portal", path=path)
    pool = conn.storagePoolLookupByName("portal")
    assert pool.isActive()
    assert pool.isPersistent()
    assert pool.autostart()
    assert f"<path>{path}</path>" in pool.XMLDesc()

    driver.pool_ensure(name="portal", path=path)
    assert [p.name() for p in conn.listAllStoragePools(0)].count("portal") == 1


def test_pool_ensure_starts_an_inactive_pool(driver, conn):
    conn.storagePoolLookupByName(POOL).destroy()
    assert not conn.storagePoolLookupByName(POOL).isActive()
    driver.pool_ensure(name=POOL, path="/ignored-when-the-pool-exists")
    pool = conn.storagePoolLookupByName(POOL)
    assert pool.isActive()
    assert "<path>/default-pool</path>" in pool.XMLDesc()


def test_volume_ensure_is_idempotent(driver, conn):
    path = driver.volume_ensure(pool=POOL, name="disk.qcow2", capacity_gib=2)
    assert path == "/default-pool/disk.qcow2"
    pool = conn.storagePoolLookupByName(POOL)
    assert pool.listVolumes() == ["disk.qcow2"]
    assert pool.storageVolLookupByName("disk.qcow2").info()[1] == 2 * 1024**3

    # a second call keeps the existing volume as it is, even when asked for another size
    assert driver.volume_ensure(pool=POOL, name="disk.qcow2", capacity_gib=5) == path
    assert pool.listVolumes() == ["disk.qcow2"]
    assert pool.storageVolLookupByName("disk.qcow2").info()[1] == 2 * 1024**3


def test_volume_ensure_in_a_missing_pool(driver):
    with pytest.raises(DriverError, match="Storage pool 'nowhere' does not exist"):
        driver.volume_ensure(pool="nowhere", name="disk.qcow2", capacity_gib=1)


def test_volume_delete_and_absent_is_success(driver, conn):
    driver.volume_ensure(pool=POOL, name="disk.qcow2", capacity_gib=1)
    driver.volume_delete(pool=POOL, name="disk.qcow2")
    assert conn.storagePoolLookupByName(POOL).listVolumes() == []
    driver.volume_delete(pool=POOL, name="disk.qcow2")
    driver.volume_delete(pool="no-such-pool", name="disk.qcow2")


# -- domains -----------------------------------------------------------------------------------------


def test_domain_define_is_idempotent_by_uuid(driver, conn):
    first = spec()
    driver.domain_define(first)
    domain = conn.lookupByUUIDString(first.uuid)
    assert domain.name() == "blue.web"
    assert domain.isPersistent()
    assert not domain.isActive()

    # a retried step with the same UUID finds its own domain, even if the rest differs
    driver.domain_define(spec(uuid=first.uuid, name="blue.web", vcpus=4))
    assert conn.lookupByUUIDString(first.uuid).info()[3] == 1, "the first definition is kept"
    assert [d.name() for d in conn.listAllDomains(0)].count("blue.web") == 1


def test_domain_define_refuses_a_name_of_another_domain(driver, conn):
    # the test hypervisor comes with a domain named "test"
    with pytest.raises(DriverError) as caught:
        driver.domain_define(spec(name="test"))
    assert not isinstance(caught.value, (HostUnreachable, DomainNotFound))
    assert "already exists" in str(caught.value)
    assert isinstance(caught.value.__cause__, libvirt.libvirtError)


def test_domain_start_twice_and_status(driver, conn):
    defined = spec()
    driver.domain_define(defined)
    status = driver.domain_status(defined.uuid)
    assert (status.uuid, status.name, status.state) == (defined.uuid, "blue.web", "shutoff")

    driver.domain_start(defined.uuid)
    driver.domain_start(defined.uuid)  # already running is success
    assert conn.lookupByUUIDString(defined.uuid).isActive()
    assert driver.domain_status(defined.uuid).state == "running"


def test_domain_status_paused(driver, conn):
    defined = spec()
    driver.domain_define(defined)
    driver.domain_start(defined.uuid)
    conn.lookupByUUIDString(defined.uuid).suspend()
    assert driver.domain_status(defined.uuid).state == "paused"


def test_domain_delete_running_domain_twice(driver, conn):
    defined = spec()
    driver.domain_define(defined)
    driver.domain_start(defined.uuid)
    driver.domain_delete(defined.uuid)
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(defined.uuid)
    driver.domain_delete(defined.uuid)  # absent is success


def test_domains_list(driver):
    one, two = spec(name="blue.one"), spec(name="blue.two")
    driver.domain_define(one)
    driver.domain_define(two)
    driver.domain_start(two.uuid)
    listed = {status.name: status for status in driver.domains_list()}
    assert set(listed) == {"test", "blue.one", "blue.two"}
    assert listed["blue.one"].state == "shutoff"
    assert listed["blue.one"].uuid == one.uuid
    assert listed["blue.two"].state == "running"
    assert listed["test"].state == "running"


def test_unknown_uuid_is_domain_not_found(driver):
    unknown = str(uuid.uuid4())
    for call in (driver.domain_status, driver.domain_start):
        with pytest.raises(DomainNotFound) as caught:
            call(unknown)
        assert isinstance(caught.value, DriverError)
        assert str(caught.value)
