"""The rows of a "top" page: rates from two bulk readings of one host, as plain JSON-ready dicts.

Counters from the host are cumulative (CPU time, bytes read, written, received, sent), so a rate
needs two readings; the first reading of a watch shows states and memory with empty rates.
A counter that went down (the domain restarted) gives no rate rather than a negative one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypervisors.drivers import DomainStats, HypervisorDriver

NANOSECONDS = 1_000_000_000


#: A domain's vCPUs and maximum memory (KiB), which the host is asked for only once per watch.
Sizes = tuple[int | None, int | None]


@dataclass(frozen=True)
class Reading:
    """One bulk read of a host: when (monotonic seconds), each domain and its sizes, by lower-case UUID."""

    taken_at: float
    domains: dict[str, DomainStats]
    sizes: dict[str, Sizes]


def host_read(driver: HypervisorDriver, *, taken_at: float, previous: Reading | None = None) -> Reading:
    """One bulk statistics call. Domains of ``previous`` are not asked for their sizes again (a host that
    reports none in bulk would cost one call per domain): their sizes carry over from it."""
    known = previous.sizes if previous is not None else {}
    domains: dict[str, DomainStats] = {}
    sizes: dict[str, Sizes] = {}
    for stats in driver.domains_stats(sizes_known=known.keys()):
        uuid = stats.uuid.lower()
        domains[uuid] = stats
        sizes[uuid] = (
            (stats.vcpus, stats.memory_max_kib)
            if stats.memory_max_kib is not None
            else known.get(uuid, (stats.vcpus, None))
        )
    return Reading(taken_at=taken_at, domains=domains, sizes=sizes)


def rate(now: int | None, before: int | None, seconds: float) -> float | None:
    """Per-second change of a cumulative counter; None when either value is missing or the counter restarted."""
    if now is None or before is None or seconds <= 0 or now < before:
        return None
    return (now - before) / seconds


def _byte_rate(now: int | None, before: int | None, seconds: float) -> int | None:
    value = rate(now, before, seconds)
    return None if value is None else round(value)


def top_rows(previous: Reading | None, current: Reading) -> list[dict[str, Any]]:
    """One row per domain of ``current``, with rates against ``previous`` (None rates without it).

    CPU is in percent of one CPU, as ``top`` counts a process (a guest busy on two vCPUs shows 200).
    """
    seconds = current.taken_at - previous.taken_at if previous is not None else 0.0
    before_of = previous.domains if previous is not None else {}
    rows = []
    for uuid, stats in current.domains.items():
        before = before_of.get(uuid)
        vcpus, memory_max = current.sizes.get(uuid, (stats.vcpus, stats.memory_max_kib))
        row: dict[str, Any] = {
            "uuid": uuid,
            "name": stats.name,
            "state": stats.state,
            "vcpus": vcpus,
            "memory_used_kib": stats.memory_used_kib,
            "memory_max_kib": memory_max,
            "cpu_percent": None,
            "disk_read_bps": None,
            "disk_write_bps": None,
            "net_rx_bps": None,
            "net_tx_bps": None,
        }
        if before is not None:
            cpu = rate(stats.cpu_time_ns, before.cpu_time_ns, seconds)
            row["cpu_percent"] = None if cpu is None else round(cpu * 100 / NANOSECONDS, 1)
            row["disk_read_bps"] = _byte_rate(stats.disk_read_bytes, before.disk_read_bytes, seconds)
            row["disk_write_bps"] = _byte_rate(stats.disk_write_bytes, before.disk_write_bytes, seconds)
            row["net_rx_bps"] = _byte_rate(stats.net_rx_bytes, before.net_rx_bytes, seconds)
            row["net_tx_bps"] = _byte_rate(stats.net_tx_bytes, before.net_tx_bytes, seconds)
        rows.append(row)
    return rows
