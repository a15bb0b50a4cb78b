"""Benchmark of the VM list (/vms/) at 1,000 and 100,000 VMs: every filter, every sort, late pages, and a floor.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_vm_list.py

It works in its own throwaway database (``portal_bench_list`` on the server of
DATABASE_URL), dropped at the end, even on failure. It prints figures and whether
each row meets the stated targets; it asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from common import Timings, analyze, bench_database, django_setup, ms, versions

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

BENCH_DB = "portal_bench_list"
SIZES = (1_000, 100_000)
TEAMS = 8
HOSTS = 6
IMAGES = 3
PAGE_SIZE = 50  # VMListView.paginate_by
#: The targets: every row at the large size within this factor of the same row at the small size
#: (and the same query count), and within FLOOR_FACTOR of a minimal logged-in view, at both sizes.
TARGET_GROWTH = 1.3
FLOOR_FACTOR = 3.0
#: Rows per bulk_create batch while seeding.
BATCH = 5000
#: Minimal logged-in views, measured in the same run: the site's layout with nothing in it (what any
#: page of the portal costs at least; the target is measured against it), and a bare response.
FLOOR_URL = "/bench-floor/"
BARE_FLOOR_URL = "/bench-floor-bare/"
FLOORS = ("floor", "floor, bare")
#: Out of 100 VMs: 70 running, 15 shut off, 8 paused, 2 crashed, 2 missing, 3 building.
STATE_MIX = ["running"] * 70 + ["shutoff"] * 15 + ["paused"] * 8 + ["crashed"] * 2 + ["missing"] * 2 + ["building"] * 3


# -- seeding -------------------------------------------------------------------------------------


@dataclass
class World:
    """The rows every size shares: teams, hosts, images and the member who sees all teams."""

    member: Any
    teams: list[Any]
    hosts: list[Any]
    images: list[Any]


def seed_world() -> World:
    from django.contrib.auth.models import User

    from hypervisors.models import Host, Image
    from portal.choices import Role
    from portal.models import Membership, Quota, Team

    teams = Team.objects.bulk_create(Team(name=f"Team {i:02d}", slug=f"team{i:02d}") for i in range(TEAMS))
    Quota.objects.bulk_create(
        Quota(team=t, vcpus=Decimal(100_000), memory_mib=10**9, disk_gib=10**7, vm_count=100_000, container_count=0)
        for t in teams
    )
    member = User.objects.create_user(username="bench-member", password=uuid.uuid4().hex)
    Membership.objects.bulk_create(Membership(user=member, team=t, role=Role.MEMBER) for t in teams)
    hosts = Host.objects.bulk_create(
        Host(name=f"host{i:02d}", uri=f"test:///bench-host-{i}", is_reachable=False, domain_type="qemu")
        for i in range(HOSTS)
    )
    images = Image.objects.bulk_create(
        Image(name=f"image{i}", os_name="busybox", kernel_path="/nonexistent/vmlinuz") for i in range(IMAGES)
    )
    return World(member=member, teams=teams, hosts=hosts, images=images)


def seed_vms(world: World, start: int, stop: int) -> None:
    """VMs number ``start`` to ``stop - 1``, spread over teams, hosts, images and states."""
    from hypervisors.models import VirtualMachine

    VirtualMachine.objects.bulk_create(
        (
            VirtualMachine(
                team=world.teams[i % TEAMS],
                owner=world.member if i % 3 else None,
                host=world.hosts[(i // TEAMS) % HOSTS],
                host_name=world.hosts[(i // TEAMS) % HOSTS].name,  # bulk_create calls no save()
                image=world.images[i % IMAGES],
                name=f"vm{i:05d}",
                domain_name=f"{world.teams[i % TEAMS].slug}.vm{i:05d}",
                vcpus=1 + i % 8,
                memory_mib=128 * (1 + i % 16),
                disk_gib=1 + i % 20,
                state=STATE_MIX[(i * 37) % 100],
            )
            for i in range(start, stop)
        ),
        batch_size=BATCH,
    )
    analyze()


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Row(Timings):
    label: str
    url: str
    sql_ms: list[float]
    queries: int
    shown: int
    sql: list[str]

    @property
    def sql_median(self) -> float:
        return statistics.median(self.sql_ms)


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


def pages_measure(client: Any, pages: list[tuple[str, str]], runs: int, warmup: int) -> dict[str, Row]:
    """Time every page ``runs`` times, round-robin (one load of each page per round).

    On a shared machine the load comes in bursts; taking the pages in turn spreads a burst over
    all of them, so a page and the floor measured in the same run see the same machine.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for label, url in pages:
        for _ in range(warmup):
            response = client.get(url)
            assert response.status_code == 200, f"{label} {url}: {response.status_code}"
    times: dict[str, list[float]] = {label: [] for label, _ in pages}
    sql_times: dict[str, list[float]] = {label: [] for label, _ in pages}
    timer = SQLTimer()
    with connection.execute_wrapper(timer):
        for _ in range(runs):
            for label, url in pages:
                timer.total = 0.0
                start = time.perf_counter()
                client.get(url)
                times[label].append(ms(time.perf_counter() - start))
                sql_times[label].append(ms(timer.total))
    rows = {}
    for label, url in pages:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        rows[label] = Row(
            label=label,
            url=url,
            times_ms=times[label],
            sql_ms=sql_times[label],
            queries=len(captured.captured_queries),
            shown=response.content.count(b'<td><a href="/vms/'),
            sql=[q["sql"] for q in captured.captured_queries],
        )
    return rows


def cases(world: World, vms: int) -> list[tuple[str, str]]:
    """(label, URL) of every measured page; labels are the same at every size."""
    from hypervisors.vms.forms import VMFilterForm

    rows = [
        ("no filter", "/vms/"),
        ("team", f"/vms/?team={world.teams[3].pk}"),
        ("state=shutoff", "/vms/?state=shutoff"),
        ("host", f"/vms/?host={world.hosts[2].pk}"),
        ("q=42", "/vms/?q=42"),
    ]
    rows += [(f"sort={key}", f"/vms/?sort={key}") for key in VMFilterForm.SORTS]
    # "Last" is the link the list offers; a page number that deep exists only with OFFSET paging.
    rows += [("page 2", "/vms/?page=2"), ("last page", "/vms/?page=last")]
    rows += [("last page, sort=host", "/vms/?sort=host&page=last")]
    return rows


def next_link(client: Any, url: str) -> str:
    """The URL the "Next" link of ``url`` points to (a page number or a keyset cursor)."""
    body = client.get(url).content.decode()
    found = re.search(r'<a href="(\?[^"]*)">Next', body)
    assert found, f"{url} has no Next link"
    return "/vms/" + html.unescape(found.group(1))


def measure_size(world: World, vms: int, runs: int, warmup: int) -> dict[str, Row]:
    from django.test import Client

    client = Client()
    client.force_login(world.member)
    rows = cases(world, vms)
    rows.insert(rows.index(("page 2", "/vms/?page=2")) + 1, ("next (link of page 1)", next_link(client, "/vms/")))
    rows += [("floor", FLOOR_URL), ("floor, bare", BARE_FLOOR_URL)]
    return pages_measure(client, rows, runs, warmup)


def floor_view(request: HttpRequest) -> HttpResponse:
    """The floor: a logged-in page with the site's layout and nothing in it (middleware, session, user, base.html)."""
    from django.shortcuts import render

    return render(request, "base.html")


def bare_floor_view(request: HttpRequest) -> HttpResponse:
    """A logged-in view that renders no template at all (middleware, session, user)."""
    from django.http import HttpResponse

    return HttpResponse(f"<p>{request.user.get_username()}</p>")


def floor_urls() -> Any:
    """The project's URLs plus the floor view, for this process only."""
    from django.contrib.auth.decorators import login_required
    from django.urls import include, path

    urls = types.ModuleType("bench_floor_urls")  # a module: Django caches resolvers by their urlconf
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path(FLOOR_URL.strip("/") + "/", login_required(floor_view)),
        path(BARE_FLOOR_URL.strip("/") + "/", login_required(bare_floor_view)),
        path("", include("config.urls")),
    ]
    return urls


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(f"    {line}" for (line,) in cursor.fetchall())


def explain_rows(rows: list[Row]) -> None:
    """EXPLAIN ANALYZE of the VM-table queries (the paginator's COUNT and the page) of the given rows."""
    for row in rows:
        print(f"\n-- {row.label}: {row.url}")
        for sql in row.sql:
            if '"hypervisors_virtualmachine"' in sql and not sql.startswith("SELECT 1"):
                print(f"  {sql[:300]}{' ...' if len(sql) > 300 else ''}")
                print(explain(sql))


# -- report --------------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:7.1f}"


def report(results: dict[int, dict[str, Row]]) -> list[Row]:
    """Print the table; returns the large-size rows that miss a target."""
    small, large = SIZES
    floor_small, floor_large = results[small]["floor"].median, results[large]["floor"].median
    print(
        f"\n{'page':<22} | {'1k median':>9} {'max':>7} {'sql':>6} {'q':>3} | "
        f"{'100k median':>11} {'max':>7} {'sql':>6} {'q':>3} | {'100k/1k':>7} {'/floor':>6} | target"
    )
    print("-" * 112)
    missed = []
    for label, a in results[small].items():
        b = results[large][label]
        growth, over_floor = b.median / a.median, max(a.median / floor_small, b.median / floor_large)
        why = []
        if growth > TARGET_GROWTH:
            why.append(f">{TARGET_GROWTH}x")
        if label not in FLOORS and over_floor > FLOOR_FACTOR:
            why.append(f">{FLOOR_FACTOR:.0f}x floor")
        if a.queries != b.queries:
            why.append("queries differ")
        if why:
            missed.append(b)
        print(
            f"{label:<22} | {fmt(a.median):>9} {fmt(a.maximum)} {fmt(a.sql_median)[1:]} {a.queries:>3} | "
            f"{fmt(b.median):>11} {fmt(b.maximum)} {fmt(b.sql_median)[1:]} {b.queries:>3} | "
            f"{growth:>6.2f}x {over_floor:>5.1f}x | {'yes' if not why else 'NO (' + ', '.join(why) + ')'}"
        )
    bare_small, bare_large = results[small]["floor, bare"].median, results[large]["floor, bare"].median
    over_bare = [
        max(results[small][label].median / bare_small, results[large][label].median / bare_large)
        for label in results[small]
        if label not in FLOORS
    ]
    print(
        f"\nmedian/max: ms per GET in-process; sql: median ms inside the database driver; q: queries per GET.\n"
        f"100k/1k: ratio of the medians. /floor: the larger of (median / floor median) at either size; the floor\n"
        f"is a logged-in page of the site's layout with nothing in it ({FLOOR_URL}), measured in the same run.\n"
        f"Against the bare floor ({BARE_FLOOR_URL}, no template) the list rows are "
        f"{min(over_bare):.1f}x to {max(over_bare):.1f}x.\n"
        f"targets: 100k/1k <= {TARGET_GROWTH}x with the same query count, /floor <= {FLOOR_FACTOR:.0f}x; "
        f"{len(results[small]) - len(missed)} of {len(results[small])} rows meet them."
    )
    return missed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timed loads per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed loads first (default 3)")
    parser.add_argument(
        "--explain",
        choices=("missed", "all", "none"),
        default="missed",
        help="EXPLAIN ANALYZE the VM queries of the 100k rows that miss a target (default), of all, or none",
    )
    args = parser.parse_args(argv)

    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        from django.test.utils import override_settings

        override_settings(ROOT_URLCONF=floor_urls()).enable()
        print(versions(BENCH_DB))
        print(
            f"{TEAMS} teams (one member in all of them), {HOSTS} hosts, {IMAGES} images; "
            f"N={args.runs} timed runs after {args.warmup} warm-up(s); {PAGE_SIZE} VMs a page"
        )
        world = seed_world()
        results: dict[int, dict[str, Row]] = {}
        seeded = 0
        for size in SIZES:
            start = time.perf_counter()
            seed_vms(world, seeded, size)
            seeded = size
            print(
                f"seeded {size:,} VMs (bulk_create in batches of {BATCH:,} + ANALYZE) "
                f"in {time.perf_counter() - start:.1f} s"
            )
            results[size] = measure_size(world, size, args.runs, args.warmup)
        missed = report(results)
        if args.explain != "none":
            chosen = list(results[SIZES[-1]].values()) if args.explain == "all" else missed
            explain_rows(chosen)


if __name__ == "__main__":
    main()
