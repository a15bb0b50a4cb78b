"""Benchmark of notifications: the header's unread count and the list, for a person with 2,000 of them among
100,000, against a person with 10; and what ``notify`` adds to an event's transaction.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_notifications.py

It works in its own throwaway database (``portal_bench_notify``), dropped at the end even on failure.
No e-mail is sent (the people have no address). It prints figures, asserts nothing on timings.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from common import PageFigures, analyze, bench_database, django_setup, fmt, ms, page_measure, versions

BENCH_DB = "portal_bench_notify"
#: People with many notifications, how many each, and how many of those are unread.
PEOPLE, PER_PERSON, UNREAD = 50, 2000, 100
PAGES = ("/notifications/unread/", "/notifications/", "/notifications/?page=last", "/requests/")


def seed() -> tuple[Any, Any]:
    """``PEOPLE`` people with ``PER_PERSON`` notifications each (``UNREAD`` unread), and one with 10, unread."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from portal.notifications.models import Notification

    now = timezone.now()
    people = [User.objects.create(username=f"bench-n{number}") for number in range(PEOPLE)]
    rows = [
        Notification(
            user=person, category="job_finished", subject=f"Ready: vm{index}", url="/vms/",
            read_at=None if index >= PER_PERSON - UNREAD else now,
        )
        for person in people
        for index in range(PER_PERSON)
    ]  # fmt: skip
    few = User.objects.create(username="bench-few")
    rows += [Notification(user=few, category="job_finished", subject=f"Ready: vm{index}") for index in range(10)]
    Notification.objects.bulk_create(rows, batch_size=5000)
    analyze()
    return people[0], few


def count_plan(user: Any) -> str:
    """The plan PostgreSQL chooses for the header's count (its first node below the aggregate)."""
    from django.db import connection

    from portal.notifications.models import Notification

    query = Notification.objects.filter(user=user, read_at__isnull=True).order_by().values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) counted", params)
        lines = [row[0].strip() for row in cursor.fetchall()]
    return next((line for line in lines if "Scan" in line), lines[0])


def notify_cost(runs: int) -> dict[int, float]:
    """Median ms of ``notify`` inside a transaction, for 1 and for ``PEOPLE`` recipients (rows, opt-out read)."""
    from statistics import median

    from django.contrib.auth.models import User
    from django.db import transaction

    from portal.notifications.services import notify

    people = list(User.objects.filter(username__startswith="bench-n"))
    figures = {}
    for size in (1, len(people)):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            with transaction.atomic():
                notify(users=people[:size], category="lease", subject="Lease ends tomorrow")
            times.append(ms(time.perf_counter() - start))
        figures[size] = median(times)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timed loads per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed loads first (default 3)")
    args = parser.parse_args(argv)

    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        print(versions(BENCH_DB))
        from django.test import Client

        start = time.perf_counter()
        many, few = seed()
        total = PEOPLE * PER_PERSON + 10
        print(f"seeded {total} notifications in {ms(time.perf_counter() - start):.0f} ms; N={args.runs} timed runs")
        print(f"count plan: {count_plan(many)}")
        results: dict[tuple[str, str], PageFigures] = {}
        for label, user in ((f"{PER_PERSON}", many), ("10", few)):
            client = Client()
            client.force_login(user)
            for url in PAGES:
                results[(label, url)] = page_measure(client, url, args.runs, args.warmup)
        print(f"{'page':<27} {'has':>5} {'median':>11} {'max':>11} {'queries':>8}")
        for (label, url), figures in results.items():
            print(f"{url:<27} {label:>5} {fmt(figures.median)} {fmt(figures.maximum)} {figures.queries:>8}")
        for size, median_ms in notify_cost(args.runs).items():
            print(f"notify() to {size:>3} people in one transaction: median {fmt(median_ms)}")


if __name__ == "__main__":
    main()
