"""Hosts and VMs in /metrics: a series for every VM, the newest counters of running ones, bounded labels and cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.choices import VMState
from hypervisors.hosts.inventory import host_reconcile
from tests.factories import HostFactory, HostStatSampleFactory, TeamFactory, VirtualMachineFactory, VMStatSampleFactory
from tests.support.metrics import labels, samples_of, scrape

pytestmark = pytest.mark.django_db

MIB = 1024**2


@pytest.fixture
def host():
    return HostFactory(name="alpha", cpus=8, memory_mib=4096, last_reconciled_at=timezone.now() - timedelta(seconds=30))


def test_every_vm_has_a_state_and_sizes_and_running_ones_their_newest_counters(client, metrics_token, host):
    team = TeamFactory(slug="blue")
    web = VirtualMachineFactory(team=team, host=host, name="web", vcpus=2, memory_mib=256, disk_gib=3)
    off = VirtualMachineFactory(team=team, host=host, name="db", state=VMState.SHUTOFF)
    earlier = timezone.now() - timedelta(minutes=1)
    VMStatSampleFactory(vm=web, taken_at=earlier, cpu_time_ns=1_000_000_000, disk_read_bytes=10)
    VMStatSampleFactory(
        vm=web, cpu_time_ns=5_500_000_000, memory_used_kib=2048, disk_read_bytes=4096, disk_write_bytes=8,
        net_rx_bytes=300, net_tx_bytes=200,
    )  # fmt: skip
    VMStatSampleFactory(vm=off, cpu_time_ns=9_000_000_000)  # a shut-off VM's last sample is history
    families = scrape(client)
    vm = labels(team="blue", host="alpha", name="web")
    assert samples_of(families, "portal_vm_state")[labels(team="blue", host="alpha", name="web", state="running")] == 1
    assert samples_of(families, "portal_vm_state")[labels(team="blue", host="alpha", name="db", state="shutoff")] == 1
    assert samples_of(families, "portal_vm_vcpus")[vm] == 2
    assert samples_of(families, "portal_vm_memory_bytes")[vm] == 256 * MIB
    assert samples_of(families, "portal_vm_disk_bytes")[vm] == 3 * 1024**3
    cpu = samples_of(families, "portal_vm_cpu_seconds", "portal_vm_cpu_seconds_total")
    assert cpu == {vm: pytest.approx(5.5)}
    assert samples_of(families, "portal_vm_memory_used_bytes") == {vm: 2048 * 1024}
    assert samples_of(families, "portal_vm_disk_read_bytes", "portal_vm_disk_read_bytes_total") == {vm: 4096}
    assert samples_of(families, "portal_vm_disk_written_bytes", "portal_vm_disk_written_bytes_total") == {vm: 8}
    assert samples_of(families, "portal_vm_network_receive_bytes", "portal_vm_network_receive_bytes_total") == {vm: 300}
    assert samples_of(families, "portal_vm_network_transmit_bytes", "portal_vm_network_transmit_bytes_total") == {
        vm: 200
    }


def test_each_running_vm_made_by_the_factories_has_a_series(client, metrics_token, host):
    vms = VirtualMachineFactory.create_batch(5, host=host)
    for vm in vms:
        VMStatSampleFactory(vm=vm)
    families = scrape(client)
    expected = {labels(team=vm.team.slug, host="alpha", name=vm.name) for vm in vms}
    assert set(samples_of(families, "portal_vm_cpu_seconds", "portal_vm_cpu_seconds_total")) == expected
    running = {key for key, value in samples_of(families, "portal_vm_state").items() if ("state", "running") in key}
    assert {tuple(item for item in key if item[0] != "state") for key in running} == expected


def test_hosts_show_reachability_size_what_their_vms_were_given_load_and_reconcile_age(client, metrics_token, host):
    HostFactory(name="beta", uri="test:///beta", is_reachable=False, cpus=None, memory_mib=None)
    VirtualMachineFactory(host=host, vcpus=2, memory_mib=256, disk_gib=2)
    VirtualMachineFactory(host=host, vcpus=1, memory_mib=128, disk_gib=1, state=VMState.SHUTOFF)
    HostStatSampleFactory(host=host, taken_at=timezone.now() - timedelta(minutes=1), cpu_busy_ns=1)
    HostStatSampleFactory(host=host, cpu_busy_ns=7_000_000_000, memory_total_kib=4096 * 1024,
                          memory_free_kib=1024 * 1024, running_domains=1)  # fmt: skip
    families = scrape(client)
    alpha, beta = labels(host="alpha"), labels(host="beta")
    assert samples_of(families, "portal_host_up") == {alpha: 1, beta: 0}
    assert samples_of(families, "portal_host_cpus") == {alpha: 8}
    assert samples_of(families, "portal_host_memory_bytes") == {alpha: 4096 * MIB}
    assert samples_of(families, "portal_host_vm_vcpus") == {alpha: 3, beta: 0}
    assert samples_of(families, "portal_host_vm_memory_bytes")[alpha] == 384 * MIB
    assert samples_of(families, "portal_host_vm_disk_bytes")[alpha] == 3 * 1024**3
    assert samples_of(families, "portal_host_cpu_busy_seconds", "portal_host_cpu_busy_seconds_total") == {alpha: 7.0}
    assert samples_of(families, "portal_host_memory_used_bytes") == {alpha: 3072 * MIB}
    assert samples_of(families, "portal_host_running_domains") == {alpha: 1}
    age = samples_of(families, "portal_host_last_reconcile_age_seconds")
    assert set(age) == {alpha}  # beta was never reconciled
    assert 30 <= age[alpha] < 300


def test_a_reconcile_stamps_the_host(libvirt_test_host):
    before = timezone.now()
    host_reconcile(host_id=libvirt_test_host.pk)
    libvirt_test_host.refresh_from_db()
    assert libvirt_test_host.last_reconciled_at >= before


def test_labels_carry_names_never_ids(client, metrics_token, host):
    vm = VirtualMachineFactory(host=host)
    VMStatSampleFactory(vm=vm)
    families = scrape(client)
    ids = {str(vm.pk), str(vm.uuid), str(host.pk), str(vm.team.pk)}
    names = {"team", "host", "name", "state", "engine", "kind", "action", "queue", "le"}
    for family in families.values():
        for sample in family.samples:
            assert set(sample.labels) <= names, family.name
            assert not ids & set(sample.labels.values()), family.name


def test_the_scrape_costs_the_same_queries_for_few_vms_as_for_many(client, metrics_token, host):
    def queries_of_a_scrape() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    VMStatSampleFactory(vm=VirtualMachineFactory(host=host))
    few = queries_of_a_scrape()
    for vm in VirtualMachineFactory.create_batch(20, host=host):
        VMStatSampleFactory(vm=vm)
        VMStatSampleFactory(vm=vm, taken_at=timezone.now() - timedelta(minutes=1))
    HostFactory(name="gamma", uri="test:///gamma")
    assert queries_of_a_scrape() == few


def test_samples_older_than_three_reconciles_are_not_reported_as_current(client, metrics_token, host, settings):
    settings.PORTAL_RECONCILE_INTERVAL = 60
    fresh, stale = VirtualMachineFactory.create_batch(2, host=host)
    VMStatSampleFactory(vm=fresh, taken_at=timezone.now() - timedelta(seconds=170))
    VMStatSampleFactory(vm=stale, taken_at=timezone.now() - timedelta(seconds=190))
    HostStatSampleFactory(host=host, taken_at=timezone.now() - timedelta(minutes=10))
    families = scrape(client)
    cpu = samples_of(families, "portal_vm_cpu_seconds", "portal_vm_cpu_seconds_total")
    assert set(cpu) == {labels(team=fresh.team.slug, host="alpha", name=fresh.name)}
    assert samples_of(families, "portal_host_memory_used_bytes") == {}
    assert len(samples_of(families, "portal_vm_state")) == 2  # both VMs still have their state and sizes
