"""Metric families of hypervisor hosts and their VMs, read from rows (see ``portal.metrics``).

Per scrape: one query for the hosts, one for the VMs (with their teams), and one each for the
hosts' and the VMs' samples of the last few reconciles (``portal.metrics.newest_samples``), of
which each running VM's newest counts. Sizes given to VMs are summed per host from the VM rows.

Label sets: hosts ``{host}``; VMs ``{team, host, name}`` (team slug, host name, VM name: unique
together) and ``state`` on ``portal_vm_state``. The database holds no storage pool usage, so
the VMs' disk sizes stand for what they were given (``portal_host_vm_disk_bytes``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hypervisors.choices import VMState
from hypervisors.models import Host, HostStatSample, VirtualMachine, VMStatSample
from portal.metrics import KIB, MIB, age_seconds, newest_samples, sample_window_start

GIB = 1024**3
HOST = ["host"]
VM = ["team", "host", "name"]
#: VMs whose newest sample stands for what they use now: a shut-off VM's last sample is history.
ACTIVE_STATES = (VMState.RUNNING, VMState.PAUSED)
#: The counters of a VM's sample exported as counters: (column, metric name, help, scale).
VM_COUNTERS = (
    ("cpu_time_ns", "portal_vm_cpu_seconds", "CPU time the VM used, all vCPUs together.", 1e-9),
    ("disk_read_bytes", "portal_vm_disk_read_bytes", "Bytes the VM read from its disks.", 1),
    ("disk_write_bytes", "portal_vm_disk_written_bytes", "Bytes the VM wrote to its disks.", 1),
    ("net_rx_bytes", "portal_vm_network_receive_bytes", "Bytes the VM received on its network cards.", 1),
    ("net_tx_bytes", "portal_vm_network_transmit_bytes", "Bytes the VM sent on its network cards.", 1),
)


def host_queues() -> list[str]:
    """The Celery queue of each host, when hosts have queues of their own (``portal.queues``)."""
    return [queue for host in Host.objects.only("name") if (queue := host.job_queue())]


#: Rows as ``values()`` reads them.
Rows = Sequence[Mapping[str, Any]]


class HypervisorCollector(Collector):
    """Hosts and VMs, from their rows and newest samples."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        hosts = list(
            Host.objects.order_by("name").values(
                "pk", "name", "is_reachable", "cpus", "memory_mib", "last_reconciled_at"
            )
        )
        vms = list(
            VirtualMachine.objects.order_by("team__slug", "name").values(
                "pk", "team__slug", "host_name", "name", "state", "vcpus", "memory_mib", "disk_gib"
            )
        )
        yield from host_families(hosts, vms, now)
        yield from vm_families(vms, now)


def host_families(hosts: Rows, vms: Rows, now: datetime) -> Iterator[Metric]:
    """Reachability, size, what the VMs were given, newest load and reconcile age of each host."""
    given: dict[str, dict[str, int]] = defaultdict(lambda: {"vcpus": 0, "memory_mib": 0, "disk_gib": 0})
    for vm in vms:
        if vm["host_name"] is not None:
            for size in ("vcpus", "memory_mib", "disk_gib"):
                given[vm["host_name"]][size] += vm[size]
    up = GaugeMetricFamily("portal_host_up", "Whether the host answered its last probe or reconcile.", labels=HOST)
    cpus = GaugeMetricFamily("portal_host_cpus", "CPUs of the host, from its last probe.", labels=HOST)
    memory = GaugeMetricFamily("portal_host_memory_bytes", "Memory of the host, from its last probe.", labels=HOST)
    vcpus = GaugeMetricFamily("portal_host_vm_vcpus", "vCPUs given to the VMs placed on the host.", labels=HOST)
    vm_memory = GaugeMetricFamily("portal_host_vm_memory_bytes", "Memory given to the host's VMs.", labels=HOST)
    vm_disk = GaugeMetricFamily("portal_host_vm_disk_bytes", "Disk sizes given to the host's VMs.", labels=HOST)
    age = GaugeMetricFamily(
        "portal_host_last_reconcile_age_seconds", "Seconds since a reconcile last read the host whole.", labels=HOST
    )
    for host in hosts:
        name = host["name"]
        up.add_metric([name], 1 if host["is_reachable"] else 0)
        if host["cpus"] is not None:
            cpus.add_metric([name], host["cpus"])
        if host["memory_mib"] is not None:
            memory.add_metric([name], host["memory_mib"] * MIB)
        vcpus.add_metric([name], given[name]["vcpus"])
        vm_memory.add_metric([name], given[name]["memory_mib"] * MIB)
        vm_disk.add_metric([name], given[name]["disk_gib"] * GIB)
        if (seconds := age_seconds(host["last_reconciled_at"], now)) is not None:
            age.add_metric([name], seconds)
    yield from (up, cpus, memory, vcpus, vm_memory, vm_disk, age)
    yield from host_load_families(hosts, now)


def host_load_families(hosts: Rows, now: datetime) -> Iterator[Metric]:
    """The newest load sample of each host: CPU busy time and memory in use."""
    names = {host["pk"]: host["name"] for host in hosts}
    samples = newest_samples(
        HostStatSample,
        "host",
        ("cpu_busy_ns", "memory_total_kib", "memory_free_kib", "running_domains"),
        sample_window_start(now),
    )
    busy = CounterMetricFamily("portal_host_cpu_busy_seconds", "CPU time the host spent busy, all CPUs.", labels=HOST)
    used = GaugeMetricFamily("portal_host_memory_used_bytes", "Memory in use on the host.", labels=HOST)
    running = GaugeMetricFamily("portal_host_running_domains", "Domains running on the host.", labels=HOST)
    for host_id, sample in sorted(samples.items(), key=lambda item: names.get(item[0], "")):
        name = names.get(host_id)
        if name is None:
            continue
        if sample["cpu_busy_ns"] is not None:
            busy.add_metric([name], sample["cpu_busy_ns"] / 1e9)
        if sample["memory_total_kib"] is not None and sample["memory_free_kib"] is not None:
            used.add_metric([name], (sample["memory_total_kib"] - sample["memory_free_kib"]) * KIB)
        running.add_metric([name], sample["running_domains"])
    yield from (busy, used, running)


def vm_families(vms: Rows, now: datetime) -> Iterator[Metric]:
    """State and sizes of every VM, and the newest counters of each running or paused one."""
    state = GaugeMetricFamily("portal_vm_state", "1 for the state the VM is in.", labels=[*VM, "state"])
    vcpus = GaugeMetricFamily("portal_vm_vcpus", "vCPUs given to the VM.", labels=VM)
    memory = GaugeMetricFamily("portal_vm_memory_bytes", "Memory given to the VM.", labels=VM)
    disk = GaugeMetricFamily("portal_vm_disk_bytes", "Disk size given to the VM.", labels=VM)
    labels_of: dict[int, list[str]] = {}
    for vm in vms:
        labels = [vm["team__slug"], vm["host_name"] or "", vm["name"]]
        if vm["state"] in ACTIVE_STATES:
            labels_of[vm["pk"]] = labels
        state.add_metric([*labels, vm["state"]], 1)
        vcpus.add_metric(labels, vm["vcpus"])
        memory.add_metric(labels, vm["memory_mib"] * MIB)
        disk.add_metric(labels, vm["disk_gib"] * GIB)
    yield from (state, vcpus, memory, disk)
    columns = [column for column, *_ in VM_COUNTERS]
    samples = newest_samples(VMStatSample, "vm", (*columns, "memory_used_kib"), sample_window_start(now))
    counters = [
        (column, CounterMetricFamily(name, text, labels=VM), scale) for (column, name, text, scale) in VM_COUNTERS
    ]
    used = GaugeMetricFamily(
        "portal_vm_memory_used_bytes", "Memory in use in the VM, as the balloon reports it.", labels=VM
    )
    for vm_id, labels in labels_of.items():
        sample = samples.get(vm_id)
        if sample is None:
            continue
        for column, family, scale in counters:
            if sample[column] is not None:
                family.add_metric(labels, sample[column] * scale)
        if sample["memory_used_kib"] is not None:
            used.add_metric(labels, sample["memory_used_kib"] * KIB)
    yield from (family for _column, family, _scale in counters)
    yield used
