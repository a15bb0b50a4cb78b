"""The libvirt driver's lifecycle methods on ``test:///default``: power, resize, snapshots, stats, delete."""

import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import libvirt
import pytest

from hypervisors.choices import VMState
from hypervisors.drivers import DomainNotFound, DomainSpec, DriverError, driver_for
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from tests.support.libvirt_test import POOL, TEST_URI, volumes

MIB = 1024

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(libvirt_test_host) -> Iterator[LibvirtDriver]:
    with driver_for(TEST_URI) as opened:
        assert isinstance(opened, LibvirtDriver)
        yield opened


@pytest.fixture
def make(driver):
    """Define a domain (started unless told otherwise); return its UUID."""

    def define(name="blue.web", *, vcpus=1, memory_mib=128, start=True, disk_path="/default-pool/none.qcow2") -> str:
        spec = DomainSpec(
            uuid=str(uuid.uuid4()), name=name, domain_type="test", vcpus=vcpus, memory_mib=memory_mib,
            disk_path=disk_path, kernel_path="/images/vmlinuz", network="default",
        )  # fmt: skip
        driver.domain_define(spec)
        if start:
            driver.domain_start(spec.uuid)
        return spec.uuid

    return define


def state(conn, domain_uuid) -> int:
    return conn.lookupByUUIDString(domain_uuid).state()[0]


def config_memory_kib(dom) -> tuple[int, int]:
    """(maximum, current) memory of the next boot, in KiB."""
    document = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return int(document.findtext("memory")), int(document.findtext("currentMemory"))


# --- power ---


def test_shutdown_twice(driver, conn, make):
    domain_uuid = make()
    driver.domain_shutdown(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_SHUTOFF  # the test driver obeys ACPI at once
    driver.domain_shutdown(domain_uuid)  # shut off already is success
    assert driver.domain_status(domain_uuid).state == "shutoff"


def test_power_off_twice(driver, conn, make):
    domain_uuid = make()
    driver.domain_power_off(domain_uuid)
    driver.domain_power_off(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_SHUTOFF


def test_suspend_and_resume_twice(driver, conn, make):
    domain_uuid = make()
    driver.domain_suspend(domain_uuid)
    driver.domain_suspend(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_PAUSED
    assert driver.domain_status(domain_uuid).state == "paused"
    driver.domain_resume(domain_uuid)
    driver.domain_resume(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_RUNNING


def test_power_off_of_a_paused_domain(driver, conn, make):
    domain_uuid = make()
    driver.domain_suspend(domain_uuid)
    driver.domain_power_off(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_SHUTOFF


def test_reboot_and_reset_keep_it_running(driver, conn, make):
    domain_uuid = make()
    driver.domain_reboot(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_RUNNING
    driver.domain_reset(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_RUNNING


@pytest.mark.parametrize("method", ["domain_reboot", "domain_reset", "domain_suspend", "domain_resume"])
def test_actions_that_need_a_running_domain(driver, conn, make, method):
    domain_uuid = make(start=False)
    try:
        getattr(driver, method)(domain_uuid)
    except DriverError as error:
        assert str(error) == "The VM is not running."
        assert not isinstance(error, DomainNotFound)
    else:
        pytest.fail("no DriverError")
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_SHUTOFF


@pytest.mark.parametrize(
    "method",
    ["domain_start", "domain_shutdown", "domain_power_off", "domain_reboot", "domain_reset", "domain_suspend",
     "domain_resume", "snapshots_list"],
)  # fmt: skip
def test_power_methods_on_an_unknown_domain(driver, method):
    with pytest.raises(DomainNotFound):
        getattr(driver, method)(str(uuid.uuid4()))


def test_start_after_shutdown(driver, conn, make):
    domain_uuid = make()
    driver.domain_shutdown(domain_uuid)
    driver.domain_start(domain_uuid)
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_RUNNING


# --- resize ---


def test_memory_within_the_maximum_of_a_running_domain_is_live(driver, conn, make):
    domain_uuid = make(memory_mib=256)
    assert driver.domain_set_memory(domain_uuid, 128).live is True
    dom = conn.lookupByUUIDString(domain_uuid)
    assert dom.info()[2] == 128 * MIB, "the running guest has less now"
    assert dom.maxMemory() == 256 * MIB
    assert config_memory_kib(dom) == (256 * MIB, 128 * MIB), "kept for the next boot"
    assert driver.domain_set_memory(domain_uuid, 128).live is True, "idempotent"


def test_memory_beyond_the_maximum_waits_for_the_next_boot(driver, conn, make):
    domain_uuid = make(memory_mib=128)
    assert driver.domain_set_memory(domain_uuid, 512).live is False
    dom = conn.lookupByUUIDString(domain_uuid)
    assert dom.info()[2] == 128 * MIB, "the running guest is unchanged"
    assert config_memory_kib(dom) == (512 * MIB, 512 * MIB)
    driver.domain_power_off(domain_uuid)
    driver.domain_start(domain_uuid)
    assert dom.info()[1] == 512 * MIB
    assert dom.info()[2] == 512 * MIB


def test_memory_of_a_shut_off_domain(driver, conn, make):
    domain_uuid = make(memory_mib=256, start=False)
    assert driver.domain_set_memory(domain_uuid, 64).live is False
    dom = conn.lookupByUUIDString(domain_uuid)
    assert config_memory_kib(dom) == (64 * MIB, 64 * MIB), "shrinking lowers the ceiling too"
    assert driver.domain_set_memory(domain_uuid, 1024).live is False
    assert dom.maxMemory() == 1024 * MIB


def test_vcpus_within_the_maximum_of_a_running_domain_are_live(driver, conn, make):
    domain_uuid = make(vcpus=2)
    assert driver.domain_set_vcpus(domain_uuid, 1).live is True
    dom = conn.lookupByUUIDString(domain_uuid)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 1
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
    assert driver.domain_set_vcpus(domain_uuid, 2).live is True, "back up to the maximum, live"
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2


def test_vcpus_beyond_the_maximum_wait_for_the_next_boot(driver, conn, make):
    domain_uuid = make(vcpus=1)
    assert driver.domain_set_vcpus(domain_uuid, 4).live is False
    dom = conn.lookupByUUIDString(domain_uuid)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 1
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 4
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM) == 4
    driver.domain_power_off(domain_uuid)
    driver.domain_start(domain_uuid)
    assert dom.info()[3] == 4


def test_vcpus_of_a_shut_off_domain(driver, conn, make):
    domain_uuid = make(vcpus=2, start=False)
    assert driver.domain_set_vcpus(domain_uuid, 1).live is False
    assert driver.domain_set_vcpus(domain_uuid, 1).live is False
    dom = conn.lookupByUUIDString(domain_uuid)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
    driver.domain_start(domain_uuid)
    assert dom.info()[3] == 1


# --- snapshots ---


def test_snapshot_create_is_idempotent_and_listed(driver, conn, make):
    domain_uuid = make()
    driver.snapshot_create(domain_uuid, "one")
    driver.snapshot_create(domain_uuid, "one")
    assert driver.snapshots_list(domain_uuid) == ["one"]
    assert [s.getName() for s in conn.lookupByUUIDString(domain_uuid).listAllSnapshots(0)] == ["one"]


def test_snapshots_are_listed_oldest_first_across_seconds(driver, make):
    domain_uuid = make()
    for name in ("zeta", "alpha"):
        driver.snapshot_create(domain_uuid, name)
        time.sleep(1.05)  # libvirt records creation times in whole seconds
    driver.snapshot_create(domain_uuid, "mid")
    assert driver.snapshots_list(domain_uuid) == ["zeta", "alpha", "mid"]


def test_snapshots_taken_within_one_second_are_listed_oldest_first(driver, make):
    domain_uuid = make()
    names = [f"s{i:02d}" for i in range(12)]
    for name in names:
        driver.snapshot_create(domain_uuid, name)
    assert driver.snapshots_list(domain_uuid) == names


def test_snapshot_revert_and_delete(driver, conn, make):
    domain_uuid = make()
    driver.snapshot_create(domain_uuid, "running")
    driver.domain_power_off(domain_uuid)
    driver.snapshot_revert(domain_uuid, "running")
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_RUNNING, "back to how it was"

    driver.snapshot_delete(domain_uuid, "running")
    driver.snapshot_delete(domain_uuid, "running")  # absent is success
    assert driver.snapshots_list(domain_uuid) == []
    with pytest.raises(DriverError, match=r"The VM has no snapshot named 'running'\."):
        driver.snapshot_revert(domain_uuid, "running")


def test_snapshot_of_a_shut_off_domain_reverts_to_shut_off(driver, conn, make):
    domain_uuid = make(start=False)
    driver.snapshot_create(domain_uuid, "cold")
    driver.domain_start(domain_uuid)
    driver.snapshot_revert(domain_uuid, "cold")
    assert state(conn, domain_uuid) == libvirt.VIR_DOMAIN_SHUTOFF


# --- stats ---


def test_domains_stats_reports_every_domain_in_one_call(driver, conn, make):
    running, stopped = make("blue.one"), make("blue.two", start=False)
    driver.domain_suspend(make("blue.three"))
    stats = {s.name: s for s in driver.domains_stats()}
    assert set(stats) == {"test", "blue.one", "blue.two", "blue.three"}
    assert stats["blue.one"].uuid == running
    assert stats["blue.two"].uuid == stopped
    assert (stats["blue.one"].state, stats["blue.two"].state, stats["blue.three"].state) == (
        "running",
        "shutoff",
        "paused",
    )
    for entry in stats.values():
        assert entry.state in VMState.values
        for counter in ("cpu_time_ns", "memory_used_kib", "disk_read_bytes", "net_rx_bytes", "disk_capacity_bytes"):
            value = getattr(entry, counter)
            assert value is None or value >= 0, "a counter the host does not report is None, never an error"


def test_domains_stats_reports_sizes(driver, make):
    make("blue.sized", vcpus=2, memory_mib=256, start=False)
    stats = {s.name: s for s in driver.domains_stats()}
    assert (stats["blue.sized"].vcpus, stats["blue.sized"].memory_max_kib) == (2, 256 * MIB)


def test_host_usage(driver):
    first = driver.host_usage()
    assert first.cpu_total_ns >= first.cpu_busy_ns > 0
    if first.memory_total_kib is not None:  # test:///default cannot report node memory stats
        assert first.memory_total_kib >= first.memory_free_kib
    else:
        assert first.memory_free_kib is None
    second = driver.host_usage()
    assert second.cpu_total_ns >= first.cpu_total_ns, "cumulative"


# --- delete ---


def test_delete_with_storage_removes_the_disk_volume(driver, conn, make):
    path = driver.volume_ensure(pool=POOL, name="web.qcow2", capacity_gib=1)
    driver.volume_ensure(pool=POOL, name="other.qcow2", capacity_gib=1)
    domain_uuid = make(disk_path=path)
    driver.snapshot_create(domain_uuid, "s1")

    driver.domain_delete(domain_uuid, with_storage=True)

    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(domain_uuid)
    assert volumes(conn) == ["other.qcow2"], "only the domain's own disk"
    driver.domain_delete(domain_uuid, with_storage=True)  # absent is success


def test_delete_without_storage_keeps_the_disk(driver, conn, make):
    path = driver.volume_ensure(pool=POOL, name="web.qcow2", capacity_gib=1)
    domain_uuid = make(disk_path=path, start=False)
    driver.domain_delete(domain_uuid)
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(domain_uuid)
    assert volumes(conn) == ["web.qcow2"]


def test_delete_with_storage_of_a_disk_outside_any_pool(driver, conn, make):
    domain_uuid = make(disk_path="/somewhere/else.qcow2")
    driver.domain_delete(domain_uuid, with_storage=True)
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(domain_uuid)
