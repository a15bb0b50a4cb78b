"""The reconcile against work done meanwhile (a job, a placement) and what it asks the host for: samples, sizes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.hosts.inventory import host_reconcile
from hypervisors.models import HostStatSample, UnmanagedDomain, VirtualMachine, VMStatSample
from tests.factories import VirtualMachineFactory
from tests.hypervisors.hosts import test_inventory as inventory_tests
from tests.hypervisors.hosts.test_inventory import define, unmanaged_names

# The same fixtures as the reconcile's main tests.
host = inventory_tests.host
managed = inventory_tests.managed

pytestmark = pytest.mark.django_db


def test_a_state_a_job_changed_after_the_read_is_not_overwritten(managed, host, conn, monkeypatch):
    vm = managed(state="running")
    conn.lookupByUUIDString(str(vm.uuid)).destroy()
    original = type(conn).getAllDomainStats

    def job_moves_it_meanwhile(self, *args):
        VirtualMachine.objects.filter(pk=vm.pk).update(state="paused")
        return original(self, *args)

    monkeypatch.setattr(type(conn), "getAllDomainStats", job_moves_it_meanwhile)
    report = host_reconcile(host_id=host.pk)
    assert VirtualMachine.objects.get(pk=vm.pk).state == "paused"
    assert report.changed == []


def test_a_vm_placed_after_the_read_is_not_listed_as_unmanaged(host, team, conn, monkeypatch):
    domain_uuid = define("blue.late")
    original = type(conn).getAllDomainStats

    def placed_meanwhile(self, *args):
        VirtualMachineFactory(team=team, host=host, name="late", uuid=domain_uuid, state="building")
        return original(self, *args)

    monkeypatch.setattr(type(conn), "getAllDomainStats", placed_meanwhile)
    host_reconcile(host_id=host.pk)
    assert "blue.late" not in unmanaged_names(host)


def test_running_vms_are_sampled_with_the_counters_the_host_reports(managed, host, monkeypatch):
    import dataclasses

    from hypervisors.drivers.libvirt_driver import LibvirtDriver

    vm, stopped = managed(name="a"), managed(name="b", state="shutoff", start=False)
    original = LibvirtDriver.domains_stats

    def with_counters(self, **kwargs):
        counters = {"cpu_time_ns": 7, "memory_used_kib": 6, "disk_read_bytes": 5, "disk_write_bytes": 4}
        return [
            dataclasses.replace(s, **counters, net_rx_bytes=3, net_tx_bytes=2) if s.state == "running" else s
            for s in original(self, **kwargs)
        ]

    monkeypatch.setattr(LibvirtDriver, "domains_stats", with_counters)
    report = host_reconcile(host_id=host.pk)
    sample = VMStatSample.objects.get(vm=vm)
    assert (sample.cpu_time_ns, sample.memory_used_kib, sample.disk_read_bytes, sample.disk_write_bytes) == (7, 6, 5, 4)
    assert (sample.net_rx_bytes, sample.net_tx_bytes) == (3, 2)
    assert sample.taken_at == HostStatSample.objects.get(host=host).taken_at
    assert not VMStatSample.objects.filter(vm=stopped).exists()
    assert report.samples == VMStatSample.objects.count()


def test_unmanaged_sizes_are_asked_again_only_when_their_row_is_stale(host, conn, monkeypatch):
    import libvirt

    foreign = define("hand-made", vcpus=2, memory_mib=256)
    host_reconcile(host_id=host.pk)
    asked: list[str] = []
    original = libvirt.virDomain.info

    def counted(domain):
        asked.append(domain.UUIDString())
        return original(domain)

    monkeypatch.setattr(libvirt.virDomain, "info", counted)
    host_reconcile(host_id=host.pk)
    assert foreign not in asked, "its row's sizes are fresh"
    row = UnmanagedDomain.objects.get(uuid=foreign)
    assert (row.vcpus, row.memory_mib) == (2, 256)
    UnmanagedDomain.objects.filter(uuid=foreign).update(last_seen_at=timezone.now() - timedelta(hours=1), vcpus=9)
    host_reconcile(host_id=host.pk)
    assert foreign in asked
    assert UnmanagedDomain.objects.get(uuid=foreign).vcpus == 2
