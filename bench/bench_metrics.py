"""Benchmark of a Prometheus scrape (/metrics) at 1,000 and 10,000 VMs, against a minimal view (the floor).

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_metrics.py

It works in its own throwaway database (``portal_bench_metrics`` on the server of DATABASE_URL),
dropped at the end, even on failure. The broker of CELERY_BROKER_URL is only read (LLEN of each
queue). It prints figures; it asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from common import Timings, analyze, bench_database, django_setup, ms, versions

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

BENCH_DB = "portal_bench_metrics"
SIZES = (1_000, 10_000)
TEAMS, HOSTS, ENGINES = 8, 6, 2
#: Containers seeded per VM, samples kept per running VM or container, finished jobs per VM.
CONTAINERS_PER_VM = 0.2
SAMPLES = 10
#: Seconds between the seeded samples, as PORTAL_RECONCILE_INTERVAL for the run: long enough that the
#: scrape's window (three intervals) holds the same two or three samples per machine for the whole run.
INTERVAL = 600
JOBS_PER_VM = 2
BATCH = 5000
TOKEN = uuid.uuid4().hex
FLOOR_URL = "/bench-floor/"
#: The same scrape written by prometheus_client's own generate_latest, for comparison with portal.metrics_text.
LIBRARY_URL = "/bench-metrics-generate-latest/"
#: Out of 100 VMs: 70 running, 15 shut off, 8 paused, 2 crashed, 2 missing, 3 building.
STATE_MIX = ["running"] * 70 + ["shutoff"] * 15 + ["paused"] * 8 + ["crashed"] * 2 + ["missing"] * 2 + ["building"] * 3


# -- seeding -------------------------------------------------------------------------------------


@dataclass
class World:
    teams: list[Any]
    hosts: list[Any]
    engines: list[Any]
    images: list[Any]
    user: Any


def seed_world() -> World:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from containers.models import ContainerImage, DockerHost
    from hypervisors.models import Host, HostStatSample
    from portal.models import Team

    now = timezone.now()
    teams = Team.objects.bulk_create(Team(name=f"Team {i:02d}", slug=f"team{i:02d}") for i in range(TEAMS))
    hosts = Host.objects.bulk_create(
        Host(name=f"host{i:02d}", uri=f"test:///bench-host-{i}", is_reachable=True, domain_type="qemu", cpus=64,
             memory_mib=512 * 1024, last_reconciled_at=now)
        for i in range(HOSTS)
    )  # fmt: skip
    HostStatSample.objects.bulk_create(
        HostStatSample(host=host, taken_at=now - timedelta(seconds=k * INTERVAL), cpu_busy_ns=10**12 - k,
                       cpu_total_ns=10**13, memory_total_kib=512 * 1024**2, memory_free_kib=128 * 1024**2,
                       running_domains=100)
        for host in hosts for k in range(SAMPLES)
    )  # fmt: skip
    engines = DockerHost.objects.bulk_create(
        DockerHost(name=f"engine{i}", base_url=f"ssh://bench@engine{i}", is_reachable=True, cpus=32,
                   memory_mib=128 * 1024, last_reconciled_at=now)
        for i in range(ENGINES)
    )  # fmt: skip
    images = ContainerImage.objects.bulk_create(
        ContainerImage(docker_host=engine, reference="portal/busybox:latest", image_id=f"sha256:{i:064x}")
        for i, engine in enumerate(engines)
    )
    user = User.objects.create_user(username="bench-owner", password=uuid.uuid4().hex)
    return World(teams=teams, hosts=hosts, engines=engines, images=images, user=user)


def seed(world: World, start: int, stop: int) -> None:
    """VMs ``start`` to ``stop - 1`` with their samples, a share of containers, and finished jobs."""
    from django.utils import timezone

    from containers.models import Container, ContainerStatSample
    from hypervisors.models import VirtualMachine, VMStatSample
    from portal.models import Job

    now = timezone.now()
    vms = VirtualMachine.objects.bulk_create(
        (
            VirtualMachine(team=world.teams[i % TEAMS], host=world.hosts[i % HOSTS],
                           host_name=world.hosts[i % HOSTS].name, name=f"vm{i:05d}",
                           domain_name=f"{world.teams[i % TEAMS].slug}.vm{i:05d}", vcpus=1 + i % 4,
                           memory_mib=128 * (1 + i % 8), disk_gib=1 + i % 20, state=STATE_MIX[(i * 37) % 100])
            for i in range(start, stop)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    VMStatSample.objects.bulk_create(
        (
            VMStatSample(vm=vm, taken_at=now - timedelta(seconds=k * INTERVAL), cpu_time_ns=10**11 - k,
                         memory_used_kib=65536, disk_read_bytes=10**8, disk_write_bytes=10**7, net_rx_bytes=10**6,
                         net_tx_bytes=10**5)
            for vm in vms if vm.state in ("running", "paused") for k in range(SAMPLES)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    first, last = int(start * CONTAINERS_PER_VM), int(stop * CONTAINERS_PER_VM)
    containers = Container.objects.bulk_create(
        (
            Container(team=world.teams[i % TEAMS], docker_host=world.engines[i % ENGINES],
                      image=world.images[i % ENGINES], name=f"ct{i:05d}", cpus=Decimal("0.5"), memory_mib=64,
                      state="running" if i % 5 else "exited", engine_id=f"{i:064x}")
            for i in range(first, last)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    ContainerStatSample.objects.bulk_create(
        (
            ContainerStatSample(container=c, taken_at=now - timedelta(seconds=k * INTERVAL), cpu_percent=12.5,
                                memory_used_kib=4096)
            for c in containers if c.state == "running" for k in range(SAMPLES)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    actions = ("vm_provision", "vm_start", "vm_shutdown", "container_provision", "host_reconcile")
    Job.objects.bulk_create(
        (
            Job(action=actions[i % len(actions)], state="succeeded" if i % 10 else "failed",
                team=world.teams[i % TEAMS], requested_by=world.user, started_at=now - timedelta(seconds=600),
                finished_at=now - timedelta(seconds=600 - (1 + i % 300)))
            for i in range(start * JOBS_PER_VM, stop * JOBS_PER_VM)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    analyze()


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Row(Timings):
    label: str
    sql_ms: list[float]
    queries: int
    size: int
    series: int


class SQLTimer:
    """Adds up the time spent in the database driver (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - start


def measure(runs: int, warmup: int) -> dict[str, Row]:
    """The scrape and the floor, in turn (so a burst of load on the machine falls on both alike)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Bearer {TOKEN}"})
    urls = {"scrape /metrics": "/metrics", "generate_latest": LIBRARY_URL, "floor": FLOOR_URL}
    for url in urls.values():
        for _ in range(warmup):
            assert client.get(url).status_code == 200, url
    times: dict[str, list[float]] = {label: [] for label in urls}
    sql: dict[str, list[float]] = {label: [] for label in urls}
    timer = SQLTimer()
    with connection.execute_wrapper(timer):
        for _ in range(runs):
            for label, url in urls.items():
                timer.total = 0.0
                start = time.perf_counter()
                client.get(url)
                times[label].append(ms(time.perf_counter() - start))
                sql[label].append(ms(timer.total))
    rows = {}
    for label, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            body = client.get(url).content
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        rows[label] = Row(label=label, times_ms=times[label], sql_ms=sql[label], queries=len(captured), size=len(body),
                          series=series)  # fmt: skip
    return rows


def floor_view(request: HttpRequest) -> HttpResponse:
    """The floor: the same middleware and token check as /metrics, answering one line without collecting."""
    from django.http import HttpResponse

    from portal.metrics_views import bearer_token_matches

    assert bearer_token_matches(request, TOKEN)
    return HttpResponse(b"portal_up 1\n", content_type="text/plain")


def library_view(request: HttpRequest) -> HttpResponse:
    """The same families as /metrics, written by ``prometheus_client.generate_latest``."""
    from django.http import HttpResponse
    from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

    from portal.metrics import metrics_registry
    from portal.metrics_views import bearer_token_matches

    assert bearer_token_matches(request, TOKEN)
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def floor_urls() -> Any:
    from django.urls import include, path

    urls = types.ModuleType("bench_metrics_urls")  # a module: Django caches resolvers by their urlconf
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path(FLOOR_URL.strip("/") + "/", floor_view),
        path(LIBRARY_URL.strip("/") + "/", library_view),
        path("", include("config.urls")),
    ]
    return urls


def report(results: dict[int, dict[str, Row]]) -> None:
    small, large = SIZES
    print(f"\n{'':<16} | {'VMs':>6} {'ctrs':>5} | {'median':>7} {'max':>7} {'sql':>6} {'q':>3} {'series':>7} "
          f"{'KiB':>6} | {'/floor':>6}")  # fmt: skip
    print("-" * 84)
    for size in SIZES:
        floor = results[size]["floor"].median
        for label, row in results[size].items():
            print(f"{label:<16} | {size:>6,} {int(size * CONTAINERS_PER_VM):>5,} | {row.median:7.1f} "
                  f"{row.maximum:7.1f} {statistics.median(row.sql_ms):6.1f} {row.queries:>3} {row.series:>7,} "
                  f"{row.size / 1024:6.0f} | {row.median / floor:5.1f}x")  # fmt: skip
    growth = results[large]["scrape /metrics"].median / results[small]["scrape /metrics"].median
    print(
        f"\nmedian/max: ms per GET in-process (django.test.Client, DEBUG off); sql: median ms inside the database\n"
        f"driver; q: queries per scrape; series: sample lines of the exposition. /floor: median over the floor's\n"
        f"median at the same size, the floor being a view behind the same middleware and token check that\n"
        f"answers one line without collecting. generate_latest: the same families written by prometheus_client's\n"
        f"own writer instead of portal.metrics_text. Scrape at {large:,} VMs / at {small:,}: {growth:.2f}x."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed scrapes per size (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed scrapes first (default 2)")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # DEBUG is off, as in production
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        from django.test.utils import override_settings

        override_settings(
            ROOT_URLCONF=floor_urls(), PORTAL_METRICS_TOKEN=TOKEN, PORTAL_RECONCILE_INTERVAL=INTERVAL
        ).enable()
        print(versions(BENCH_DB))
        print(f"{TEAMS} teams, {HOSTS} hosts, {ENGINES} engines; {SAMPLES} samples kept per running VM and "
              f"container; {JOBS_PER_VM} finished jobs per VM; N={args.runs} timed scrapes after {args.warmup} "
              f"warm-up(s)")  # fmt: skip
        world = seed_world()
        results: dict[int, dict[str, Row]] = {}
        seeded = 0
        for size in SIZES:
            start = time.perf_counter()
            seed(world, seeded, size)
            seeded = size
            print(f"seeded {size:,} VMs in {time.perf_counter() - start:.1f} s")
            results[size] = measure(args.runs, args.warmup)
        report(results)
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
