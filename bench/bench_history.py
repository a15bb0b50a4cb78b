"""Benchmark of the load history: rows and bytes before and after roll-up, and the cost of one compaction.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_history.py

It works in its own throwaway database (``portal_bench_history``), dropped at the end. Samples
are written straight into the table with ``generate_series`` (as a reconcile would have written
them, one row per VM per reading), then ``portal.history.history_compact`` runs as the beat task
would. It prints figures; it asserts nothing.

- Catch-up: ``--vms`` VMs with a reading every ``--interval`` seconds for ``--days`` days,
  compacted at once (a portal whose beat did not run): rows and bytes before and after.
- Steady state: 1,000 VMs, five minutes of new readings past the raw window (what each
  five-minute beat run finds): the time of one compaction.
- A year at 1,000 VMs: rows and bytes the retention keeps, against keeping every reading.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from datetime import datetime, timedelta

from common import analyze, bench_database, django_setup, ms, versions

BENCH_DB = "portal_bench_history"
STEADY_VMS = 1_000
STEADY_MINUTES = 5
YEAR_VMS = 1_000


def seed_vms(count: int) -> list[int]:
    """VM rows to hang samples on (one team, no host: nothing is reached)."""
    from hypervisors.models import VirtualMachine
    from portal.models import Team

    team = Team.objects.create(name="bench", slug="bench")
    VirtualMachine.objects.bulk_create(
        VirtualMachine(team=team, name=f"vm{n}", vcpus=1, memory_mib=128, disk_gib=1, state="running")
        for n in range(count)
    )
    return list(VirtualMachine.objects.filter(team=team).values_list("pk", flat=True))


def write_readings(vm_ids: list[int], start: datetime, end: datetime, interval: int) -> None:
    """One raw reading per VM every ``interval`` seconds from ``start`` to ``end``: counters climbing, memory moving."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO hypervisors_vmstatsample
                (vm_id, taken_at, cpu_time_ns, memory_used_kib, disk_read_bytes, disk_write_bytes,
                 net_rx_bytes, net_tx_bytes, period_seconds)
            SELECT vm.id, moment, n * 1000000, 65536 + (n %% 97) * 64, n * 4096, n * 8192, n * 1500, n * 900, 0
            FROM unnest(%s::bigint[]) AS vm(id),
                 generate_series(%s::timestamptz, %s::timestamptz, make_interval(secs => %s))
                     WITH ORDINALITY AS t(moment, n)
            """,
            [vm_ids, start, end, interval],
        )
    analyze()


def table_figures() -> tuple[int, int]:
    """Rows in the VM samples table and its size on disk, indexes included."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('hypervisors_vmstatsample') FROM hypervisors_vmstatsample"
        )
        rows, size = cursor.fetchone()
    return int(rows), int(size)


def clear() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE hypervisors_vmstatsample")


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=200, help="VMs of the catch-up run")
    parser.add_argument("--days", type=float, default=2.0, help="simulated days of the catch-up run")
    parser.add_argument("--interval", type=int, default=10, help="seconds between two readings")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        from django.conf import settings
        from django.utils import timezone

        from portal.history import history_compact

        print(versions("PostgreSQL"))
        now = timezone.now()
        vm_ids = seed_vms(max(args.vms, STEADY_VMS))

        write_readings(vm_ids[: args.vms], now - timedelta(days=args.days), now, args.interval)
        rows_before, bytes_before = table_figures()
        started = time.perf_counter()
        figures = history_compact(now)
        catch_up = time.perf_counter() - started
        analyze()
        rows_after, bytes_after = table_figures()
        print(f"\ncatch-up: {args.vms} VMs, a reading every {args.interval} s for {args.days:g} days")
        print(f"  before roll-up  {rows_before:>12,} rows  {mib(bytes_before):>12}")
        print(f"  after roll-up   {rows_after:>12,} rows  {mib(bytes_after):>12}   (table not vacuumed)")
        print(f"  rows kept       {rows_after / rows_before:>12.3f}x   compaction took {catch_up:.1f} s  {figures}")
        bytes_per_row = bytes_before / rows_before

        clear()
        raw_minutes = settings.PORTAL_HISTORY_RAW_MINUTES
        due_until = now - timedelta(minutes=raw_minutes)
        write_readings(vm_ids[:STEADY_VMS], due_until - timedelta(minutes=STEADY_MINUTES), now, args.interval)
        due = STEADY_VMS * STEADY_MINUTES * 60 // args.interval
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            history_compact(now)
            timings.append(time.perf_counter() - started)
            now += timedelta(minutes=STEADY_MINUTES)
        print(f"\nsteady state: {STEADY_VMS:,} VMs, about {due:,} readings due per five-minute run")
        later = ", ".join(f"{ms(seconds):.0f} ms" for seconds in timings[1:])
        print(f"  first run {ms(timings[0]):.0f} ms (rolls them up); next runs {later}")

        per_vm_kept = (
            raw_minutes * 60 / args.interval
            + settings.PORTAL_HISTORY_MINUTE_DAYS * 1440
            + (settings.PORTAL_HISTORY_HOUR_DAYS - settings.PORTAL_HISTORY_MINUTE_DAYS) * 24
        )
        per_vm_all = 365 * 86400 / args.interval
        kept, every = YEAR_VMS * per_vm_kept, YEAR_VMS * per_vm_all
        print(f"\na year at {YEAR_VMS:,} VMs, a reading every {args.interval} s", end=" ")
        print(f"({bytes_per_row:.0f} bytes a row, indexes included):")
        print(f"  every reading kept  {every:>16,.0f} rows  {mib(every * bytes_per_row):>14}")
        print(
            f"  with the roll-up    {kept:>16,.0f} rows  {mib(kept * bytes_per_row):>14}  ({every / kept:,.0f}x fewer)"
        )


if __name__ == "__main__":
    main()
