"""What the benchmark scripts in bench/ share: the throwaway database, Django, a real Celery worker, figures.

Each script is run on its own (``python bench/bench_*.py``), so Python puts bench/ first on
``sys.path`` and the scripts import this module as ``common``. Importing it also puts the
repository root on ``sys.path``, so that the portal's packages import from the scripts.

Everything that differs between the scripts (the database name, the broker, the worker's name,
timeouts, labels) is a parameter; the scripts keep their own constants.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Seconds between two looks at the job row while a build runs.
POLL_INTERVAL = 0.01


# -- database ------------------------------------------------------------------------------------


def database_urls(name: str) -> tuple[str, str]:
    """The URLs of the server's ``postgres`` database (to create and drop) and of the bench database ``name``.

    Both are on the server of ``DATABASE_URL``, so that a benchmark never touches the portal's own data.
    """
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"DATABASE_URL must point at PostgreSQL, not {parts.scheme!r}")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    bench = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    return admin, bench


def database_drop(admin_url: str, name: str) -> None:
    """Drop the bench database, closing any session still on it (a worker may still be connected)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """Create the throwaway database ``name`` afresh, yield its URL, and drop it at the end, even on failure.

    It is dropped first too, in case an earlier run was killed before its cleanup.
    """
    admin_url, bench_url = database_urls(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield bench_url
    finally:
        # Django's own connections would otherwise hold the database open (FORCE ends them anyway).
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        database_drop(admin_url, name)


def django_setup(bench_url: str, *, broker_url: str | None = None, redis_url: str | None = None) -> None:
    """Point Django (and, if given, Celery's broker and the Redis URL) at the bench's own stores; set up; migrate.

    ``DEBUG`` is off so that pages are timed as in production (no query log, no debug toolbar).
    """
    os.environ["DATABASE_URL"] = bench_url
    if broker_url is not None:
        os.environ["CELERY_BROKER_URL"] = broker_url
    if redis_url is not None:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    # WhiteNoise warns that collectstatic never ran; the benchmarks serve no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def versions(database: str) -> str:
    """The first line every script prints: its database and the versions the figures were taken with."""
    import django

    return f"database {database}; Python {platform.python_version()}, Django {django.get_version()}"


def analyze() -> None:
    """``ANALYZE`` the bench database after bulk inserts, as autovacuum would on a live database.

    Without it the planner works from the statistics of empty tables, and the timings are not the ones
    a live database would show.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def team_with_member(
    *,
    slug: str,
    username: str,
    vcpus: Decimal,
    memory_mib: int,
    disk_gib: int,
    vm_count: int,
    container_count: int,
) -> tuple[Any, Any]:
    """A team named and slugged ``slug`` with that quota, and a new user who is a member of it.

    The password is random: the benchmarks log in with ``force_login`` only.
    """
    from django.contrib.auth.models import User

    from portal.choices import Role
    from portal.models import Membership, Quota, Team

    team = Team.objects.create(name=slug, slug=slug)
    Quota.objects.create(
        team=team,
        vcpus=vcpus,
        memory_mib=memory_mib,
        disk_gib=disk_gib,
        vm_count=vm_count,
        container_count=container_count,
    )
    user = User.objects.create_user(username=username, password=uuid.uuid4().hex)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    return team, user


def superuser(username: str) -> Any:
    """A new superuser (with a random password), who approves the requests of the provisioning benchmarks."""
    from django.contrib.auth.models import User

    return User.objects.create_superuser(username=username, password=uuid.uuid4().hex, email="")


# -- figures -------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    """Seconds (as ``time.perf_counter`` differences give them) in milliseconds, the unit every figure is in."""
    return seconds * 1000.0


def fmt(value_ms: float) -> str:
    """A time in ms as the tables of bench_pages and bench_containers show it (fixed width, so columns align)."""
    return f"{value_ms:8.1f} ms"


@dataclass
class Timings:
    """The timed runs (in ms) of one measured thing, and the two figures every table shows of them."""

    times_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def maximum(self) -> float:
        return max(self.times_ms)


@dataclass
class PageFigures(Timings):
    """The timed loads of one page, its query count and its size in bytes."""

    url: str
    queries: int
    size: int


def page_measure(client: Any, url: str, runs: int, warmup: int) -> PageFigures:
    """Load ``url`` with a logged-in ``django.test.Client``: ``warmup`` untimed, then ``runs`` timed loads.

    The queries are counted in one more load, apart from the timed ones, so that capturing them
    does not slow the timed loads.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(ms(time.perf_counter() - start))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return PageFigures(url=url, times_ms=times, queries=len(captured.captured_queries), size=len(response.content))


# -- approve-to-running through a real worker ----------------------------------------------------


class Worker:
    """A real Celery worker process (``celery -A config worker --pool solo``) on the bench database and broker.

    The provisioning benchmarks time what a user waits for, so the job has to go through the broker
    to a separate worker process, as in production, not run eagerly in the benchmark's own process.
    """

    def __init__(
        self, database_url: str, broker_url: str, *, name_prefix: str = "bench", redis_url: str | None = None
    ) -> None:
        self.name = f"{name_prefix}-{os.getpid()}@{platform.node()}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url}
        if redis_url is not None:
            self.env["REDIS_URL"] = redis_url
        self.env["DEBUG"] = "false"
        self.log_file = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Purge the broker's queue, start the worker and wait (up to 60 s) until it answers a ping."""
        from config.celery import app

        app.control.purge()
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
        command += ["--loglevel", "WARNING", "-n", self.name]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{self.log()}")
            if app.control.ping(destination=[self.name], timeout=1.0):
                return
        raise RuntimeError(f"the worker did not answer within 60 s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate the worker (kill it if it does not exit within 20 s) and delete its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.log_file.close()
        Path(self.log_file.name).unlink(missing_ok=True)

    def log(self) -> str:
        """The tail of the worker's output, to show when a run fails."""
        self.log_file.flush()
        return Path(self.log_file.name).read_text(errors="replace")[-4000:]


@dataclass
class PortalRun:
    """One approve-to-running run of the portal, and its parts (all in ms)."""

    total_ms: float
    approve_ms: float
    queued_ms: float
    build_ms: float


def approve_and_wait(
    *, admin: Any, request: Any, name: str, is_running: Callable[[], bool], timeout: float
) -> PortalRun:
    """Time ``request_approve`` -> the worker builds -> the job row says succeeded and ``is_running()``.

    The database is polled every POLL_INTERVAL seconds; the split into queueing and build time
    comes from the job row's own timestamps.
    """
    from portal.choices import JobState
    from portal.models import Job
    from portal.services import request_approve

    start = time.perf_counter()
    job = request_approve(actor=admin, request_id=request.pk)
    assert job is not None, "a kind that builds something has a job"
    approved = time.perf_counter()
    assert job is not None, "a VM's approval queues its build"
    deadline = approved + timeout
    while True:
        state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).get()
        if state == JobState.SUCCEEDED and is_running():
            break
        if state == JobState.FAILED:
            job.refresh_from_db()
            raise RuntimeError(f"the build of {name} failed: {job.error}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the build of {name} took more than {timeout:.0f} s")
        time.sleep(POLL_INTERVAL)
    end = time.perf_counter()
    job.refresh_from_db()
    assert job.started_at is not None and job.finished_at is not None
    return PortalRun(
        total_ms=ms(end - start),
        approve_ms=ms(approved - start),
        queued_ms=ms((job.started_at - job.created_at).total_seconds()),
        build_ms=ms((job.finished_at - job.started_at).total_seconds()),
    )


def interleaved_runs(
    worker: Worker,
    portal_once: Callable[[str], PortalRun],
    raw_once: Callable[[str], float],
    repetitions: int,
) -> tuple[list[PortalRun], list[float]]:
    """Start ``worker``; one untimed round per side, then ``repetitions`` runs per side, interleaved; stop it.

    The untimed round keeps the worker's first task and the backend's first create out of the
    figures; interleaving spreads any drift of the machine over both sides. On failure the
    worker's log is printed before the error goes on.
    """
    worker.start()
    try:
        portal_once("warmup")
        raw_once("rawwarmup")
        portal_runs: list[PortalRun] = []
        raw_runs: list[float] = []
        for i in range(repetitions):
            portal_runs.append(portal_once(f"p{i}"))
            raw_runs.append(raw_once(f"raw{i}"))
    except Exception:
        print(f"worker log (tail):\n{worker.log()}", file=sys.stderr)
        raise
    finally:
        worker.stop()
    return portal_runs, raw_runs


def provisioning_report(
    portal_runs: list[PortalRun],
    raw_runs: list[float],
    *,
    portal_label: str,
    raw_label: str,
    width: int,
    call_label: str = "request_approve() call (incl. enqueue)",
) -> None:
    """Print the medians and runs of both sides, the portal's parts, and the ratio; ``width`` aligns the labels.

    ``call_label`` names the service call the portal's run starts with (its ``approve_ms``).
    """

    def line(label: str, values: list[float]) -> str:
        shown = " ".join(f"{v:.0f}" for v in values)
        return f"{label:<{width}} median {fmt(statistics.median(values))}   runs (ms): {shown}"

    totals = [r.total_ms for r in portal_runs]
    print(line(portal_label, totals))
    print(line(f"  {call_label}", [r.approve_ms for r in portal_runs]))
    print(line("  job created -> worker started it", [r.queued_ms for r in portal_runs]))
    print(line("  worker: started -> finished (all steps)", [r.build_ms for r in portal_runs]))
    print(line(raw_label, raw_runs))
    portal_median, raw_median = statistics.median(totals), statistics.median(raw_runs)
    print(
        f"ratio portal / raw (medians): x{portal_median / raw_median:.2f}  "
        f"(portal overhead {portal_median - raw_median:.0f} ms)"
    )


def broker_purge() -> None:
    """Empty the bench's broker queue of anything a failed run left."""
    with contextlib.suppress(Exception):
        from config.celery import app

        app.control.purge()
