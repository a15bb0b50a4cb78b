"""Benchmark of the REST API: the VM list by cursor at 100 and 10,000 VMs, and asks at the quota limit.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_api.py

It works in its own throwaway database (``portal_bench_api`` on the server of DATABASE_URL),
dropped at the end, even on failure, and counts throttles in Redis database 7 (``--redis``).
It prints figures and whether each meets the target of the issue; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

from common import analyze, bench_database, django_setup, ms, team_with_member, versions

BENCH_DB = "portal_bench_api"
SIZES = (100, 10_000)
RUNS = 30
#: How many cursor pages deep the "deep page" is (50 VMs a page).
DEEP_PAGES = 100
TARGET_MEDIAN_MS = 50.0
CLIENTS = 20
ASKS_PER_CLIENT = 10
#: The team may hold this many VMs: most of the 200 asks must be refused, none may overshoot.
VM_LIMIT = 50


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def client_for(user: Any) -> Any:
    from rest_framework.test import APIClient

    from portal.api.tokens import token_create

    _, secret = token_create(actor=user, name=f"bench-{uuid.uuid4().hex[:6]}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def vms_grow(team: Any, total: int) -> None:
    """Bulk-insert VMs until the team has ``total``."""
    from hypervisors.models import VirtualMachine

    have = VirtualMachine.objects.filter(team=team).count()
    VirtualMachine.objects.bulk_create(
        [
            VirtualMachine(
                team=team,
                name=f"vm{n:05d}",
                domain_name=f"{team.slug}.vm{n:05d}",
                vcpus=1,
                memory_mib=128,
                disk_gib=1,
                state="running",
            )
            for n in range(have, total)
        ],
        batch_size=2000,
    )
    analyze()


def timed_get(client: Any, url: str) -> tuple[list[float], int]:
    """Times of ``RUNS`` loads of ``url`` (after one warm-up) and the query count of one."""
    from django.db import connection

    assert client.get(url).status_code == 200
    queries: list[str] = []

    def counted(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    # Counted as they run: the query log is reset at the start of every request.
    with connection.execute_wrapper(counted):
        client.get(url)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = client.get(url)
        times.append(ms(time.perf_counter() - start))
        assert response.status_code == 200
    return times, len(queries)


def deep_url(client: Any) -> str:
    url = "/api/v1/vms/"
    for _ in range(DEEP_PAGES):
        next_url = client.get(url).json()["next"]
        if next_url is None:
            break
        url = next_url
    return str(url)


def list_report(client: Any, team: Any) -> None:
    print(f"\nGET /api/v1/vms/ ({RUNS} runs; target p50 <= {TARGET_MEDIAN_MS:.0f} ms, queries independent of size)")
    counts: dict[str, list[int]] = {"first page": [], "deep page": []}
    for size in SIZES:
        vms_grow(team, size)
        for label, url in (("first page", "/api/v1/vms/"), ("deep page", deep_url(client))):
            times, queries = timed_get(client, url)
            counts[label].append(queries)
            p50 = statistics.median(times)
            verdict = "meets" if size < max(SIZES) or p50 <= TARGET_MEDIAN_MS else "MISSES"
            print(f"  {size:>6} VMs  {label:<10}  p50 {p50:6.1f} ms  p95 {percentile(times, 0.95):6.1f} ms  "
                  f"{queries} queries  {verdict}")  # fmt: skip
    for label, found in counts.items():
        print(f"  query count of the {label} at {SIZES}: {found} -> {'same' if len(set(found)) == 1 else 'DIFFERS'}")


def asks_report(user: Any, team: Any, image: Any) -> None:
    from django.db import connection

    from hypervisors.models import VirtualMachine
    from portal.choices import ACTIVE_REQUEST_STATES
    from portal.models import ResourceRequest

    clients = [client_for(user) for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)
    latencies: list[float] = []
    statuses: list[int] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            for number in range(ASKS_PER_CLIENT):
                body = {"name": f"ask-{index}-{number}", "team": team.pk, "image": image.pk, "vcpus": 1,
                        "memory_mib": 64, "disk_gib": 1, "justification": "bench"}  # fmt: skip
                start = time.perf_counter()
                response = clients[index].post("/api/v1/vms/", body, format="json")
                latencies.append(ms(time.perf_counter() - start))
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    held = ResourceRequest.objects.filter(team=team, state__in=ACTIVE_REQUEST_STATES).count()
    held += VirtualMachine.objects.filter(team=team).count()
    print(f"\nPOST /api/v1/vms/ at the quota limit: {CLIENTS} clients x {ASKS_PER_CLIENT} asks, limit {VM_LIMIT} VMs")
    print(f"  {len(statuses) / elapsed:6.1f} asks/s   p50 {statistics.median(latencies):6.1f} ms   "
          f"p95 {percentile(latencies, 0.95):6.1f} ms")  # fmt: skip
    print(
        f"  201: {statuses.count(201)}  400: {statuses.count(400)}  "
        f"other: {len(statuses) - statuses.count(201) - statuses.count(400)}"
    )
    print(
        f"  held {held} of {VM_LIMIT}: overshoot {max(0, held - VM_LIMIT)} "
        f"({'none' if held <= VM_LIMIT else 'OVERSHOOT'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="Redis for the throttle counts")
    args = parser.parse_args()
    # Throttling is not what is measured here.
    os.environ.setdefault("PORTAL_API_RATE_TOKEN", "1000000/min")
    os.environ.setdefault("PORTAL_API_RATE_USER", "1000000/min")
    os.environ["PORTAL_API_CACHE_URL"] = args.redis
    # DEBUG is off (as in production), which needs a key of its own; nothing outlives the throwaway database.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    with bench_database(BENCH_DB) as url:
        django_setup(url, redis_url=args.redis)
        print(versions(BENCH_DB))
        from hypervisors.models import Image

        image = Image.objects.create(name="bench", os_name="busybox", kernel_path="/nonexistent/vmlinuz")
        big = Decimal(10**5)
        team, user = team_with_member(slug="big", username="reader", vcpus=big, memory_mib=10**9, disk_gib=10**9,
                                      vm_count=10**6, container_count=0)  # fmt: skip
        list_report(client_for(user), team)
        limited, asker = team_with_member(slug="limited", username="asker", vcpus=big, memory_mib=10**9,
                                          disk_gib=10**9, vm_count=VM_LIMIT, container_count=0)  # fmt: skip
        asks_report(asker, limited, image)


if __name__ == "__main__":
    main()
