"""Keeping the rows true: the reconcile and events against libvirt's ``test:///default`` hypervisor."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.drivers import DomainSpec, driver_for
from hypervisors.hosts.inventory import host_reconcile, vm_state_observed
from hypervisors.models import Host, HostStatSample, UnmanagedDomain, VirtualMachine
from portal.choices import AuditResult
from portal.models import AuditEvent
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db

UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"
#: The domain libvirt's test driver starts with.
TEST_DOMAIN = "test"


@pytest.fixture
def host(libvirt_test_host) -> Host:
    return libvirt_test_host


def define(name: str, *, vcpus: int = 1, memory_mib: int = 128, start: bool = True) -> str:
    """Define (and start) a domain on the test hypervisor through the driver; return its UUID."""
    spec = DomainSpec(
        uuid=str(uuid.uuid4()),
        name=name,
        domain_type="test",
        vcpus=vcpus,
        memory_mib=memory_mib,
        disk_path=f"/default-pool/{name}.qcow2",
        kernel_path="/images/vmlinuz",
    )
    with driver_for("test:///default") as driver:
        driver.domain_define(spec)
        if start:
            driver.domain_start(spec.uuid)
    return spec.uuid


@pytest.fixture
def managed(host, team):
    """A VM of the team whose domain runs on the host."""

    def make(name="web", state="running", start=True, **values) -> VirtualMachine:
        domain_uuid = define(f"blue.{name}", start=start)
        return VirtualMachineFactory(
            team=team, host=host, name=name, uuid=domain_uuid, domain_name=f"blue.{name}", state=state, **values
        )

    return make


def unmanaged_names(host) -> list[str]:
    return sorted(UnmanagedDomain.objects.filter(host=host).values_list("name", flat=True))


# --- VMs ---


def test_rows_that_agree_are_left_alone(managed, host):
    vm = managed()
    report = host_reconcile(host_id=host.pk)
    assert report.reachable
    assert report.changed == []
    assert report.missing == []
    vm.refresh_from_db()
    assert vm.state == "running"
    assert vm.state_changed_at is None


def test_domain_destroyed_behind_the_portals_back_is_marked_shut_off(managed, host, conn):
    vm = managed()
    conn.lookupByUUIDString(str(vm.uuid)).destroy()

    report = host_reconcile(host_id=host.pk)

    vm.refresh_from_db()
    assert vm.state == "shutoff"
    assert vm.state_changed_at is not None
    assert report.changed == [str(vm)]
    assert report.missing == []
    assert not AuditEvent.objects.filter(action="vm.missing").exists()


def test_domain_undefined_behind_the_portals_back_is_marked_missing(managed, host, conn, team):
    vm = managed()
    dom = conn.lookupByUUIDString(str(vm.uuid))
    dom.destroy()
    dom.undefine()

    report = host_reconcile(host_id=host.pk)

    vm.refresh_from_db()
    assert vm.state == "missing"
    assert report.missing == [str(vm)]
    event = AuditEvent.objects.get(action="vm.missing")
    assert (event.actor, event.team, event.target_id, event.result) == (None, team, str(vm.pk), AuditResult.FAILURE)
    assert event.detail == f"Domain blue.web is no longer on host {host.name}."

    host_reconcile(host_id=host.pk)
    assert AuditEvent.objects.filter(action="vm.missing").count() == 1, "reported once, not at every reconcile"


def test_a_vm_that_reappears_is_corrected(managed, host, conn):
    vm = managed(state="missing")  # its domain is back (restored from a backup, say)
    report = host_reconcile(host_id=host.pk)
    vm.refresh_from_db()
    assert vm.state == "running"
    assert report.changed == [str(vm)]
    assert vm.name not in unmanaged_names(host)


def test_paused_domain(managed, host, conn):
    vm = managed()
    conn.lookupByUUIDString(str(vm.uuid)).suspend()
    host_reconcile(host_id=host.pk)
    vm.refresh_from_db()
    assert vm.state == "paused"


def test_a_building_vm_is_left_to_its_job(host, team, conn):
    without_domain = VirtualMachineFactory(team=team, host=host, name="early", state="building")
    domain_uuid = define("blue.late", start=False)
    with_domain = VirtualMachineFactory(team=team, host=host, name="late", uuid=domain_uuid, state="building")

    report = host_reconcile(host_id=host.pk)

    for vm in (without_domain, with_domain):
        vm.refresh_from_db()
        assert vm.state == "building"
    assert report.missing == []
    assert "blue.late" not in unmanaged_names(host), "its domain belongs to the VM being built"
    assert not AuditEvent.objects.filter(action="vm.missing").exists()


def test_vms_of_other_hosts_are_not_touched(host, team, conn):
    elsewhere = HostFactory(name="elsewhere", uri=UNREACHABLE_URI)
    vm = VirtualMachineFactory(team=team, host=elsewhere, state="running")
    host_reconcile(host_id=host.pk)
    vm.refresh_from_db()
    assert vm.state == "running"


def test_vm_started_outside_the_portal_loses_its_next_boot_note(managed, host):
    vm = managed(state="shutoff", next_boot_note="New memory apply at the next boot.")  # started with virsh since
    host_reconcile(host_id=host.pk)
    vm.refresh_from_db()
    assert vm.state == "running"
    assert vm.next_boot_note == ""


# --- unmanaged domains ---


def test_domains_unknown_to_the_portal_are_listed(host, conn, managed):
    managed()
    foreign = define("hand-made", start=False)

    report = host_reconcile(host_id=host.pk)

    assert unmanaged_names(host) == ["hand-made", TEST_DOMAIN]
    assert report.unmanaged == 2
    assert report.domains == 3
    row = UnmanagedDomain.objects.get(uuid=foreign)
    assert (row.host, row.state) == (host, "shutoff")
    assert row.last_seen_at is not None
    assert UnmanagedDomain.objects.get(name=TEST_DOMAIN).state == "running"


def test_unmanaged_domain_row_has_its_sizes(host, conn):
    foreign = define("hand-made", vcpus=2, memory_mib=256)
    host_reconcile(host_id=host.pk)
    row = UnmanagedDomain.objects.get(uuid=foreign)
    assert (row.vcpus, row.memory_mib) == (2, 256)


def test_unmanaged_domain_that_changes_is_updated_and_one_that_goes_is_forgotten(host, conn):
    foreign = define("hand-made")
    host_reconcile(host_id=host.pk)
    first = UnmanagedDomain.objects.get(uuid=foreign)
    assert first.state == "running"

    conn.lookupByUUIDString(foreign).suspend()
    host_reconcile(host_id=host.pk)
    again = UnmanagedDomain.objects.get(uuid=foreign)
    assert again.pk == first.pk, "the same row, not a new one"
    assert again.state == "paused"
    assert again.first_seen_at == first.first_seen_at
    assert again.last_seen_at >= first.last_seen_at

    dom = conn.lookupByUUIDString(foreign)
    dom.destroy()
    dom.undefine()
    report = host_reconcile(host_id=host.pk)
    assert not UnmanagedDomain.objects.filter(uuid=foreign).exists()
    assert unmanaged_names(host) == [TEST_DOMAIN]
    assert report.unmanaged == 1


def test_unmanaged_rows_of_other_hosts_are_kept(host, conn):
    elsewhere = HostFactory(name="elsewhere", uri=UNREACHABLE_URI)
    kept = UnmanagedDomain.objects.create(
        host=elsewhere, uuid=uuid.uuid4(), name="far", state="running", last_seen_at=timezone.now()
    )
    host_reconcile(host_id=host.pk)
    assert UnmanagedDomain.objects.filter(pk=kept.pk).exists()


# --- load samples ---


def test_a_host_sample_is_taken(host, conn, managed):
    managed()
    define("stopped", start=False)

    host_reconcile(host_id=host.pk)

    sample = HostStatSample.objects.get(host=host)
    assert sample.running_domains == 2, "the test domain and the VM; not the stopped one"
    assert sample.cpu_total_ns >= sample.cpu_busy_ns > 0
    assert abs(sample.taken_at - timezone.now()) < timedelta(minutes=1)

    host_reconcile(host_id=host.pk)
    assert HostStatSample.objects.filter(host=host).count() == 2


def test_unreachable_host_is_marked_and_its_vms_keep_their_state(managed, host, conn):
    vm = managed()
    host_reconcile(host_id=host.pk)
    unmanaged_before = unmanaged_names(host)
    Host.objects.filter(pk=host.pk).update(uri=UNREACHABLE_URI)

    report = host_reconcile(host_id=host.pk)

    assert not report.reachable
    host.refresh_from_db()
    assert not host.is_reachable
    assert host.unreachable_since is not None
    assert "127.0.0.1" in host.last_error
    vm.refresh_from_db()
    assert vm.state == "running", "a host that does not answer says nothing about its VMs"
    assert unmanaged_names(host) == unmanaged_before
    assert HostStatSample.objects.filter(host=host).count() == 1, "no sample from an unreachable host"

    since = host.unreachable_since
    host_reconcile(host_id=host.pk)
    host.refresh_from_db()
    assert host.unreachable_since == since, "unreachable since the first failure, not the last"


def test_host_that_answers_again_is_cleared(host, conn):
    Host.objects.filter(pk=host.pk).update(uri=UNREACHABLE_URI)
    host_reconcile(host_id=host.pk)
    Host.objects.filter(pk=host.pk).update(uri="test:///default")

    report = host_reconcile(host_id=host.pk)

    assert report.reachable
    host.refresh_from_db()
    assert host.is_reachable
    assert host.unreachable_since is None
    assert host.last_error == ""


# --- events ---


def test_vm_state_observed_stores_a_new_state(managed, host):
    vm = managed()
    assert vm_state_observed(host_id=host.pk, uuid=str(vm.uuid), state="shutoff") is True
    vm.refresh_from_db()
    assert vm.state == "shutoff"
    assert vm.state_changed_at is not None
    assert vm_state_observed(host_id=host.pk, uuid=str(vm.uuid), state="shutoff") is False, "nothing changed"


def test_vm_state_observed_accepts_uppercase_uuids(managed, host):
    vm = managed()
    assert vm_state_observed(host_id=host.pk, uuid=str(vm.uuid).upper(), state="paused") is True
    vm.refresh_from_db()
    assert vm.state == "paused"


def test_vm_state_observed_ignores_building_vms_other_hosts_and_strangers(host, team):
    building = VirtualMachineFactory(team=team, host=host, state="building")
    elsewhere = VirtualMachineFactory(team=team, host=HostFactory(name="other", uri=UNREACHABLE_URI))
    assert vm_state_observed(host_id=host.pk, uuid=str(building.uuid), state="running") is False
    assert vm_state_observed(host_id=host.pk, uuid=str(elsewhere.uuid), state="shutoff") is False
    assert vm_state_observed(host_id=host.pk, uuid=str(uuid.uuid4()), state="shutoff") is False
    building.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (building.state, elsewhere.state) == ("building", "running")


def test_vm_state_observed_start_clears_the_next_boot_note(host, team):
    vm = VirtualMachineFactory(
        team=team, host=host, state="shutoff", next_boot_note="New vCPUs apply at the next boot."
    )
    assert vm_state_observed(host_id=host.pk, uuid=str(vm.uuid), state="running") is True
    vm.refresh_from_db()
    assert (vm.state, vm.next_boot_note) == ("running", "")
