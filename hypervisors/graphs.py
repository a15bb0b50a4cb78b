"""Load graphs of VMs and hosts, from their samples of cumulative counters (see ``portal.graphs``)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from portal.graphs import HEIGHT, MARGIN, WIDTH, Series, gauge_series, rate_series, svg_graph, svg_graphs

__all__ = [
    "HEIGHT",
    "MARGIN",
    "WIDTH",
    "Series",
    "gauge_series",
    "host_series",
    "rate_series",
    "svg_graph",
    "svg_graphs",
    "vm_series",
]


def vm_series(samples: Sequence[Any], vcpus: int) -> list[Series]:
    """CPU (% of the VM's vCPUs), memory in use, disk and network throughput of a VM."""
    return [
        rate_series(samples, lambda s: s.cpu_time_ns, lambda r, _s: min(100.0, r / 1e7 / max(vcpus, 1)),
                    Series("CPU", "%", "cpu")),
        gauge_series(samples, lambda s: s.memory_used_kib / 1024 if s.memory_used_kib else None,
                     Series("Memory in use", "MiB", "memory")),
        rate_series(samples, lambda s: s.disk_read_bytes, lambda r, _s: r / 1024, Series("Disk read", "KiB/s", "read")),
        rate_series(samples, lambda s: s.disk_write_bytes, lambda r, _s: r / 1024,
                    Series("Disk write", "KiB/s", "write")),
        rate_series(samples, lambda s: s.net_rx_bytes, lambda r, _s: r / 1024, Series("Network in", "KiB/s", "rx")),
        rate_series(samples, lambda s: s.net_tx_bytes, lambda r, _s: r / 1024, Series("Network out", "KiB/s", "tx")),
    ]  # fmt: skip


def host_series(samples: Sequence[Any]) -> list[Series]:
    """CPU busy (% of all CPUs) and memory in use of a host."""
    cpu = Series("CPU", "%", "cpu")
    for before, after in pairwise(samples):
        if None in (before.cpu_busy_ns, after.cpu_busy_ns, before.cpu_total_ns, after.cpu_total_ns):
            continue
        total = after.cpu_total_ns - before.cpu_total_ns
        if total > 0:
            cpu.points.append((after.taken_at, 100.0 * (after.cpu_busy_ns - before.cpu_busy_ns) / total))
    memory = gauge_series(
        samples,
        lambda s: (s.memory_total_kib - s.memory_free_kib) / 1024 if s.memory_total_kib and s.memory_free_kib else None,
        Series("Memory in use", "MiB", "memory"),
    )
    return [cpu, memory]
