"""Benchmark of the lease scan's due queries at 100,000 VMs: one query per step, each within 100 ms.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_lease_scan.py

It works in its own throwaway database (``portal_bench_leases`` on the server of DATABASE_URL),
dropped at the end, even on failure. For each step of the scan (reminders, stops, deletions) it
prints the median time of the one query that finds what is due, how many rows it found, and the
line of PostgreSQL's plan that shows the index it uses. It asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from common import analyze, bench_database, django_setup, ms, versions

BENCH_DB = "portal_bench_leases"
TEAMS = 8
#: Rows per bulk_create batch while seeding.
BATCH = 5000
TARGET_MS = 100.0


def seed(count: int) -> None:
    """``count`` VMs: one in five without a lease, the rest ending over the past 30 and next 335 days.

    Leases that ended more than 7 days ago were stopped and wait for deletion; one in fifty of the
    others has had its reminders. So each step finds a small share of a large table, as in life.
    """
    from django.contrib.auth.models import User
    from django.utils import timezone

    from hypervisors.models import Host, VirtualMachine
    from portal.models import Quota, Team

    teams = Team.objects.bulk_create(Team(name=f"Team {i:02d}", slug=f"team{i:02d}") for i in range(TEAMS))
    Quota.objects.bulk_create(Quota(team=t, vcpus=Decimal(100_000), memory_mib=10**9, vm_count=10**6) for t in teams)
    owner = User.objects.create_user(username="bench-owner", password=uuid.uuid4().hex)
    host = Host.objects.create(name="host", uri="test:///bench-leases", is_reachable=False, domain_type="qemu")
    now = timezone.now()

    def vm(i: int) -> VirtualMachine:
        row = VirtualMachine(
            team=teams[i % TEAMS], owner=owner, host=host, host_name=host.name, name=f"vm{i:06d}",
            domain_name=f"team{i % TEAMS:02d}.vm{i:06d}", vcpus=1, memory_mib=128, disk_gib=1, state="running",
        )  # fmt: skip
        if i % 5:
            ends = now + timedelta(minutes=(i * 7919) % (365 * 24 * 60) - 30 * 24 * 60)
            row.lease_set(ends_at=ends, grace_days=7)
            if ends < now - timedelta(days=7):
                row.lease_stopped_at = ends
            elif i % 50 == 0:
                row.lease_reminded_days = 1
        return row

    VirtualMachine.objects.bulk_create((vm(i) for i in range(count)), batch_size=BATCH)
    analyze()


def measure(runs: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from hypervisors.models import VirtualMachine
    from portal.leases.scan import deletes_due, reminders_due, stops_due

    now = timezone.now()
    print(f"{'step':<10} {'median ms':>10} {'rows':>6}  target <= {TARGET_MS:.0f} ms  plan")
    for step, due in (("reminders", reminders_due(now)), ("stops", stops_due(now)), ("deletes", deletes_due(now))):
        # The scan's query as it runs it (portal/leases/scan.py, _claim_each).
        query = VirtualMachine.objects.filter(due).order_by("lease_ends_at").values_list("pk", "team_id")
        timings, found = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            found = len(list(query.all()))  # a fresh queryset: no cached rows
            timings.append(ms(time.perf_counter() - start))
        plan = query.explain()
        index_line = next((line.strip() for line in plan.splitlines() if "Index" in line), plan.splitlines()[0])
        median = statistics.median(timings)
        verdict = "ok" if median <= TARGET_MS else "OVER"
        print(f"{step:<10} {median:>10.2f} {found:>6}  {verdict:<16} {index_line}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM hypervisors_virtualmachine")
        print(f"rows in the VM table: {cursor.fetchone()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        print(versions(BENCH_DB))
        started = time.perf_counter()
        seed(args.vms)
        print(f"seeded {args.vms} VMs in {time.perf_counter() - started:.1f} s")
        measure(args.runs)


if __name__ == "__main__":
    main()
