"""Benchmark of the periodic reconcile of one host with 5,000 domains, against the raw libvirt calls.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_reconcile.py

The host is libvirt's in-process test driver loaded from a generated ``<node>`` file
(``test:///tmp/.../node.xml``), so no hypervisor is needed. It works in its own
throwaway database (``portal_bench_reconcile`` on the server of DATABASE_URL) and
a temporary directory, both removed at the end, even on failure. It prints
figures; it asserts nothing about timings. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from common import bench_database, django_setup, ms, versions
from reconcile_host import MANAGED, ORPHANS, VANISHED, counters_reported, disk_paths_reported, node_write, seed

BENCH_DB = "portal_bench_reconcile"
DOMAINS = 5_000
CHANGED_SHARE = 0.10
# -- measuring -----------------------------------------------------------------------------------


@dataclass
class RawRun:
    open_ms: float
    stats_ms: float
    usage_ms: float
    close_ms: float
    domains: int

    @property
    def total(self) -> float:
        return self.open_ms + self.stats_ms + self.usage_ms + self.close_ms

    @property
    def net(self) -> float:
        """Without opening and closing the connection."""
        return self.stats_ms + self.usage_ms


def raw_libvirt_baseline(uri: str) -> RawRun:
    """The raw baseline of (a): what the reconcile asks the host, straight through the libvirt SDK.

    Open, the bulk domain stats (with the flags of ``LibvirtDriver.domains_stats()``), node CPU and
    memory, the network list, close; each part timed on its own. No portal code runs here.
    """
    from hypervisors.drivers.raw import DOMAIN_STATS_FLAGS
    from hypervisors.drivers.raw import libvirt_sdk as libvirt

    start = time.perf_counter()
    conn = libvirt.open(uri)
    try:
        opened = time.perf_counter()
        stats = conn.getAllDomainStats(
            DOMAIN_STATS_FLAGS,
            0,
        )
        # The driver reads each domain's UUID and name from the record's handle, as here.
        records = [(domain.UUIDString(), domain.name(), record.get("state.state")) for domain, record in stats]
        # The driver keeps no domain handle either: with none left, close() frees the domains, as in the reconcile.
        del stats
        got_stats = time.perf_counter()
        with contextlib.suppress(libvirt.libvirtError):
            conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
        with contextlib.suppress(libvirt.libvirtError):  # the test driver has no node memory stats
            conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
        # The reconcile also lists the host's networks (none in the generated node file).
        _ = [(n.UUIDString(), n.name(), n.isActive()) for n in conn.listAllNetworks(0)]
        done = time.perf_counter()
    finally:
        conn.close()
        closed = time.perf_counter()
    return RawRun(ms(opened - start), ms(got_stats - opened), ms(done - got_stats), ms(closed - done), len(records))


class Phases:
    """Times the parts of ``host_reconcile`` by wrapping them in timers.

    The headline runs wrap the connection's open and close only (``full=False``: two timer
    calls per run); the breakdown pass wraps every part listed in NAMES.
    """

    NAMES = (
        "libvirt open",
        "libvirt close",
        "domains_stats",
        "host_usage",
        "networks_list",
        "_leases",
        "_reconcile_vms",
        "_reconcile_unmanaged",
        "_reconcile_networks",
        "storage_read",
        "storage_write",
        "_prune",
    )

    def __init__(self, *, full: bool) -> None:
        self.full = full
        self.current: dict[str, float] = {}
        self.patches: list[tuple[Any, str, Any]] = []

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.current[name] = self.current.get(name, 0.0) + ms(time.perf_counter() - start)

        return wrapper

    def _patch(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        self.patches.append((owner, attribute, original))
        setattr(owner, attribute, self._timed(name, original))

    def __enter__(self) -> Phases:
        from hypervisors.drivers.libvirt_driver import LibvirtDriver
        from hypervisors.drivers.raw import libvirt_sdk as libvirt
        from hypervisors.hosts import inventory

        self._patch(libvirt, "open", "libvirt open")
        self._patch(libvirt.virConnect, "close", "libvirt close")
        if not self.full:
            return self
        for name in ("domains_stats", "host_usage", "networks_list"):
            self._patch(LibvirtDriver, name, name)
        for name in (
            *("_leases", "_reconcile_vms", "_reconcile_unmanaged", "_reconcile_networks"),
            *("storage_read", "storage_write", "_prune"),
        ):
            if hasattr(inventory, name):
                self._patch(inventory, name, name)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attribute, original in reversed(self.patches):
            setattr(owner, attribute, original)

    def take(self, total_ms: float) -> dict[str, float]:
        """The phases of the run that just ended; ``domains_stats`` net of the open it triggers."""
        current, self.current = self.current, {}
        if not self.full:
            return current
        current["domains_stats"] = current.get("domains_stats", 0.0) - current.get("libvirt open", 0.0)
        current["other (host row, sample, commit)"] = total_ms - sum(current.values())
        return current


@dataclass
class Scenario:
    label: str
    times_ms: list[float]
    reports: list[Any]
    phases: list[dict[str, float]]
    #: The raw calls run right after each reconcile run, so both sides see the same machine load.
    raw: list[RawRun]

    @property
    def median(self) -> float:
        return median(self.times_ms)

    @property
    def nets(self) -> list[float]:
        """Each run's time less its own connection open and close."""
        return [t - p["libvirt open"] - p["libvirt close"] for t, p in zip(self.times_ms, self.phases, strict=True)]

    @property
    def net_median(self) -> float:
        return median(self.nets)

    @property
    def raw_total(self) -> float:
        return median([r.total for r in self.raw])

    @property
    def raw_net(self) -> float:
        return median([r.net for r in self.raw])

    @property
    def paired_net_ratio(self) -> float:
        """Median over the runs of (reconcile w/o open) / (the raw run beside it w/o open)."""
        return median([n / r.net for n, r in zip(self.nets, self.raw, strict=True)])


def reconcile_runs(
    label: str, host_id: int, runs: int, before: Callable[[], None], phases: Phases, uri: str | None = None
) -> Scenario:
    """``runs`` reconcile runs (untimed ``before()`` first), each followed by one raw run if ``uri`` is given.

    Interleaved, the two sides share the machine's load of the moment: on a busy machine medians
    taken minutes apart differ by more than the portal's own work.
    """
    from hypervisors.hosts.inventory import host_reconcile

    times, reports, parts, raws = [], [], [], []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        report = host_reconcile(host_id=host_id)
        elapsed = ms(time.perf_counter() - start)
        if not report.reachable:
            raise RuntimeError(f"{label}: the host was unreachable")
        times.append(elapsed)
        reports.append(report)
        parts.append(phases.take(elapsed))
        if uri is not None:
            raws.append(raw_libvirt_baseline(uri))
            phases.current = {}  # the raw run's own open and close are not the reconcile's
    return Scenario(label, times, reports, parts, raws)


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per scenario (default 10)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one changed-state run")
    parser.add_argument(
        "--volumes", action="store_true", help="give the host a storage pool: a disk per domain and 50 orphans"
    )
    args = parser.parse_args(argv)

    with (
        contextlib.ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp,
        bench_database(BENCH_DB) as bench_url,
    ):
        django_setup(bench_url)
        from hypervisors.drivers.raw import libvirt_sdk as libvirt

        # libvirt prints every error to stderr (the test driver has no node memory stats); the driver silences it too.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        from hypervisors.models import UnmanagedDomain, VirtualMachine, VMStatSample

        node = Path(tmp) / "node.xml"
        domains = node_write(node, DOMAINS, volumes=args.volumes)
        if args.volumes:
            stack.enter_context(disk_paths_reported())
        uri = f"test://{node}"
        host, vms = seed(uri, domains)
        managed = vms[:MANAGED]
        ghosts = [vm.pk for vm in vms[MANAGED:]]
        states = {d.uuid: d.state for d in domains}
        print(versions(BENCH_DB))
        print(
            f"libvirt {libvirt.getVersion() // 1_000_000}.{libvirt.getVersion() // 1000 % 1000}; host {uri}\n"
            f"{DOMAINS:,} domains ({node.stat().st_size // 1024} KiB XML): 80% running, 10% shut off, 10% paused; "
            f"{MANAGED:,} with a VM row, {DOMAINS - MANAGED:,} unmanaged, "
            f"+{VANISHED} VM rows whose domain is gone; N={args.runs} runs each"
            + (f"; a pool with a disk per domain and {ORPHANS} orphan volumes" if args.volumes else "")
        )

        # 10% of the domains "changed": their rows are put in the wrong state before each run
        # (untimed), so the reconcile has to correct them. (A test:///file open is private to
        # its connection: a change made through another connection would not be seen.)
        step = int(1 / CHANGED_SHARE)
        picked = [vm for k, vm in enumerate(managed) if k % step == (k // step) % step]  # every 10th, mixed states
        changed_vms = [vm.pk for vm in picked]
        to_shutoff = [vm.pk for vm in picked if vm.state == "running"]
        to_running = [vm.pk for vm in picked if vm.state != "running"]
        changed_unmanaged = [d.uuid for d in domains[MANAGED::step]]

        def rows_wrong() -> None:
            VirtualMachine.objects.filter(pk__in=to_shutoff).update(state="shutoff")
            VirtualMachine.objects.filter(pk__in=to_running).update(state="running")
            UnmanagedDomain.objects.filter(uuid__in=changed_unmanaged).update(state="crashed")

        def ghosts_back() -> None:
            VirtualMachine.objects.filter(pk__in=ghosts).update(state="running")

        def unmanaged_forgotten() -> None:
            UnmanagedDomain.objects.all().delete()

        def nothing() -> None:
            pass

        # (a) and (b), interleaved: each reconcile run is followed by a raw run. Only the connection's
        # open and close are timed inside a reconcile run, to tell them apart.
        raw_libvirt_baseline(uri)  # warm-up
        with Phases(full=False) as opens:
            reconcile_runs("warm-up", host.pk, 1, nothing, opens)

            def scenario(label: str, before: Callable[[], None]) -> Scenario:
                return reconcile_runs(label, host.pk, args.runs, before, opens, uri)

            scenarios = [
                scenario("first run (1,000 unmanaged inserted)", unmanaged_forgotten),
                scenario("steady (nothing changed)", nothing),
                scenario(
                    f"{CHANGED_SHARE:.0%} changed ({len(changed_vms)} VMs, {len(changed_unmanaged)} unmanaged)",
                    rows_wrong,
                ),
                scenario(f"{VANISHED} VMs vanished (audit each)", ghosts_back),
            ]
            changed_report = scenarios[2].reports[-1]
            assert len(changed_report.changed) == len(changed_vms), (len(changed_report.changed), len(changed_vms))
            assert all(states[str(vm.uuid)] == vm.state for vm in VirtualMachine.objects.filter(pk__in=changed_vms))
            with counters_reported():
                scenarios.append(scenario("steady, with counters (*)", nothing))
                samples = VMStatSample.objects.count()

        raw = [r for s in scenarios for r in s.raw]
        print("\n== (a) raw libvirt: open, getAllDomainStats (driver's flags), node stats, listAllNetworks, close ==")
        print(
            f"median {median([r.total for r in raw]):7.1f} ms = open {median([r.open_ms for r in raw]):.1f} "
            f"+ getAllDomainStats incl. UUID/name per record {median([r.stats_ms for r in raw]):.1f} "
            f"+ node stats & networks {median([r.usage_ms for r in raw]):.2f} "
            f"+ close {median([r.close_ms for r in raw]):.1f} ms "
            f"({raw[0].domains:,} records; all {len(raw)} raw runs, one after each reconcile run)"
        )
        print(f"without open and close: {median([r.net for r in raw]):.1f} ms")

        print("\n== (b) hypervisors.hosts.inventory.host_reconcile(host_id=...) end to end, raw runs interleaved ==")
        print(
            f"{'scenario':<38} {'median':>9} {'max':>9} {'/raw':>6} | {'w/o open':>9} {'raw w/o':>8} "
            f"{'/raw w/o':>8} {'paired':>6} | changed/missing/unmanaged"
        )
        for s in scenarios:
            r = s.reports[-1]
            print(
                f"{s.label:<38} {s.median:6.1f} ms {max(s.times_ms):6.1f} ms {s.median / s.raw_total:5.2f}x | "
                f"{s.net_median:6.1f} ms {s.raw_net:5.1f} ms {s.net_median / s.raw_net:7.2f}x "
                f"{s.paired_net_ratio:5.2f}x | {len(r.changed)}/{len(r.missing)}/{r.unmanaged}"
            )
        print(
            "/raw: reconcile / raw medians, both including their own connection open and close (the test\n"
            "driver parses the whole XML file on each open). w/o open: the same without each run's own open\n"
            "and close; raw w/o: the median of the raw runs interleaved with this scenario's runs; paired:\n"
            "the median of the per-run ratios (each reconcile run against the raw run right after it).\n"
            f"target <= 2x: met including open/close in {sum(s.median <= 2 * s.raw_total for s in scenarios)} of "
            f"{len(scenarios)} scenarios, without it in {sum(s.net_median <= 2 * s.raw_net for s in scenarios)}.\n"
            "(*) the test driver reports no counters; here domains_stats() is wrapped to add them for running\n"
            f"domains, as a real host reports them, so VMStatSample rows are written ({samples:,} after the runs)."
        )

        # Where the time goes: the same scenarios again, with each part timed.
        print("\n== where the time goes (medians of a separate pass with each part wrapped in a timer, ms) ==")
        with Phases(full=True) as phases:
            parts = [
                reconcile_runs("steady", host.pk, args.runs, nothing, phases),
                reconcile_runs("10% changed", host.pk, args.runs, rows_wrong, phases),
            ]
            with counters_reported():
                parts.append(reconcile_runs("steady + counters", host.pk, args.runs, nothing, phases))
        names = [*Phases.NAMES, "other (host row, sample, commit)"]
        print(f"{'part':<34}" + "".join(f" {p.label:>18}" for p in parts))
        for name in names:
            print(f"{name:<34}" + "".join(f" {median([run.get(name, 0.0) for run in p.phases]):18.1f}" for p in parts))
        print(f"{'total':<34}" + "".join(f" {p.median:18.1f}" for p in parts))

        if args.profile:
            from hypervisors.hosts.inventory import host_reconcile

            rows_wrong()
            profiler = cProfile.Profile()
            profiler.runcall(host_reconcile, host_id=host.pk)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print("\n== cProfile of one 10%-changed run (top 25, cumulative) ==")
            print(out.getvalue())


if __name__ == "__main__":
    main()
