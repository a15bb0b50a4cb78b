"""Benchmarks of containers: the container list at 5,000 containers, and approve-to-running against raw docker.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_containers.py

It works in its own throwaway database (``portal_bench_ctr`` on the server of
DATABASE_URL) and on Redis database 11, and removes both at the end, with every
engine container whose name starts with its prefix, even on failure. It prints
figures; it asserts nothing about timings. See bench/README.md.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "portal_bench_ctr"
REDIS_URL = "redis://127.0.0.1:6379/11"
DOCKER_URL = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
IMAGE_REFERENCE = "portal/busybox:latest"
#: Rows of the page benchmark.
BIG_ROWS = 5_000
SMALL_ROWS = 50
PAGE_SIZE = 50  # ContainerListView.paginate_by
#: Out of 10 containers: 8 running, 1 stopped, 1 paused.
STATE_MIX = ["running"] * 8 + ["exited", "paused"]
#: The container both sides of (b) create.
COMMAND = ["sleep", "300"]
CPUS = Decimal("0.5")
MEMORY_MIB = 64
#: Seconds one build may take before the run is called failed.
BUILD_TIMEOUT = 120.0
#: Seconds between two looks at the job row while a build runs.
POLL_INTERVAL = 0.01


# -- database ------------------------------------------------------------------------------------


def database_urls() -> tuple[str, str]:
    """The URLs of the server's ``postgres`` database (to create and drop) and of the bench database."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"DATABASE_URL must point at PostgreSQL, not {parts.scheme!r}")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    bench = urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", "", ""))
    return admin, bench


def database_recreate(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def database_drop(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """Create the throwaway database and drop it at the end."""
    admin_url, bench_url = database_urls()
    database_recreate(admin_url)
    try:
        yield bench_url
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        database_drop(admin_url)


# -- figures -------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000.0


def fmt(value_ms: float) -> str:
    return f"{value_ms:8.1f} ms"


# -- (a) pages -----------------------------------------------------------------------------------


@dataclass
class PageFigures:
    times_ms: list[float]
    queries: int
    size: int

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def maximum(self) -> float:
        return max(self.times_ms)


def engine_rows() -> tuple[Any, Any]:
    """The local engine as a DockerHost row and the bench image as a ContainerImage row on it."""
    from containers.models import ContainerImage, DockerHost

    docker_host = DockerHost.objects.create(name="local", base_url=DOCKER_URL, is_reachable=True)
    image = ContainerImage.objects.create(docker_host=docker_host, reference=IMAGE_REFERENCE, image_id="sha256:bench")
    return docker_host, image


def seed_team(*, slug: str, username: str, containers: int, docker_host: Any, image: Any) -> Any:
    """A team, its member and ``containers`` container rows written in bulk. Returns the member."""
    from django.contrib.auth.models import User

    from containers.models import Container
    from portal.choices import Role
    from portal.models import Membership, Quota, Team

    team = Team.objects.create(name=slug, slug=slug)
    Quota.objects.create(
        team=team,
        vcpus=Decimal(containers),
        memory_mib=containers * 128,
        disk_gib=0,
        vm_count=0,
        container_count=containers * 2,
    )
    user = User.objects.create_user(username=username, password=uuid.uuid4().hex)
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    image.offered_to.add(team)
    Container.objects.bulk_create(
        (
            Container(
                team=team,
                owner=user,
                docker_host=docker_host,
                image=image,
                name=f"ctr{i:05d}",
                command=["sleep", "infinity"],
                cpus=Decimal("0.5"),
                memory_mib=64,
                engine_id=uuid.uuid4().hex * 2,
                state=STATE_MIX[i % len(STATE_MIX)],
            )
            for i in range(containers)
        ),
        batch_size=1000,
    )
    return user


def page_measure(client: Any, url: str, runs: int, warmup: int) -> PageFigures:
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
    return PageFigures(times_ms=times, queries=len(captured.captured_queries), size=len(response.content))


def bench_pages(runs: int, warmup: int) -> None:
    from django.db import connection
    from django.test import Client

    print(f"\n== (a) pages: {BIG_ROWS} containers in one team vs {SMALL_ROWS} in another ==")
    start = time.perf_counter()
    docker_host, image = engine_rows()
    big = seed_team(slug="bench-big", username="bench-big", containers=BIG_ROWS, docker_host=docker_host, image=image)
    small = seed_team(
        slug="bench-small", username="bench-small", containers=SMALL_ROWS, docker_host=docker_host, image=image
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded in {ms(time.perf_counter() - start):.0f} ms; N={runs} timed runs after {warmup} warm-up(s)")

    last_page = -(-BIG_ROWS // PAGE_SIZE)
    pages = {"/": "/", "/containers/": "/containers/", "last page": f"/containers/?page={last_page}"}
    sizes = {BIG_ROWS: big, SMALL_ROWS: small}
    results: dict[tuple[str, int], PageFigures] = {}
    for rows, user in sizes.items():
        client = Client()
        client.force_login(user)
        for label, url in pages.items():
            if label == "last page" and rows == SMALL_ROWS:
                continue
            results[(label, rows)] = page_measure(client, url, runs, warmup)

    print(f"{'page':<28} {'containers':>10} {'median':>11} {'max':>11} {'queries':>8} {'bytes':>8}")
    for (label, rows), figures in results.items():
        url = pages[label]
        print(
            f"{url:<28} {rows:>10} {fmt(figures.median)} {fmt(figures.maximum)} {figures.queries:>8} {figures.size:>8}"
        )
    for label in ("/", "/containers/"):
        big_figures, small_figures = results[(label, BIG_ROWS)], results[(label, SMALL_ROWS)]
        print(
            f"ratio {label:<13} {BIG_ROWS} / {SMALL_ROWS}: median x{big_figures.median / small_figures.median:.2f}, "
            f"queries {big_figures.queries} vs {small_figures.queries}"
        )


# -- (b) approve-to-running vs raw docker -------------------------------------------------------


class Worker:
    """A real Celery worker process on the bench database and broker."""

    def __init__(self, database_url: str):
        self.name = f"bench-ctr-{os.getpid()}@{platform.node()}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "REDIS_URL": REDIS_URL,
            "DEBUG": "false",
        }
        self.log_file = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from portal.celery import app

        app.control.purge()
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo"]
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
        self.log_file.flush()
        return Path(self.log_file.name).read_text(errors="replace")[-4000:]


@dataclass
class PortalRun:
    total_ms: float
    approve_ms: float
    queued_ms: float
    build_ms: float


def engine_clean(client: Any, prefix: str) -> None:
    """Remove every engine container whose name starts with the bench's prefix."""
    for container in client.containers.list(all=True, filters={"name": prefix}):
        if container.name.startswith(prefix):
            with contextlib.suppress(Exception):
                container.remove(force=True)


def image_ensure(client: Any) -> Any:
    """The bench image, built by scripts/build-container-image.sh if the engine lacks it."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(IMAGE_REFERENCE)
    except ImageNotFound:
        subprocess.run([str(ROOT / "scripts" / "build-container-image.sh"), IMAGE_REFERENCE], check=True)
        return client.images.get(IMAGE_REFERENCE)


def portal_run(*, team: Any, member: Any, admin: Any, image: Any, name: str) -> PortalRun:
    """Ask (untimed), then time approve -> worker builds -> the rows say succeeded and running."""
    from containers.choices import ContainerState
    from containers.models import Container
    from portal.choices import JobState, ResourceKind
    from portal.models import Job
    from portal.services import request_approve, request_submit

    request = request_submit(
        actor=member,
        team=team,
        kind=ResourceKind.CONTAINER,
        name=name,
        vcpus=CPUS,
        memory_mib=MEMORY_MIB,
        disk_gib=0,
        justification="benchmark",
        spec={
            "image_id": image.pk,
            "image": image.reference,
            "docker_host_id": image.docker_host_id,
            "command": COMMAND,
            "environment": {},
            "ports": [],
            "restart_policy": "no",
        },
    )
    start = time.perf_counter()
    job = request_approve(actor=admin, request_id=request.pk)
    approved = time.perf_counter()
    deadline = approved + BUILD_TIMEOUT
    while True:
        state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).get()
        if (
            state == JobState.SUCCEEDED
            and Container.objects.filter(request=request, state=ContainerState.RUNNING).exists()
        ):
            break
        if state == JobState.FAILED:
            job.refresh_from_db()
            raise RuntimeError(f"the build of {name} failed: {job.error}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the build of {name} took more than {BUILD_TIMEOUT:.0f} s")
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


def raw_run(*, client: Any, docker_host: Any, team_slug: str, name: str) -> float:
    """Time ``containers.run`` with the portal's create options for the same spec, until it is running."""
    from containers.drivers import ContainerSpec
    from containers.drivers.options import create_options

    spec = ContainerSpec(
        name=f"{team_slug}.{name}",
        image=IMAGE_REFERENCE,
        cpus=CPUS,
        memory_mib=MEMORY_MIB,
        command=list(COMMAND),
        publish_address=docker_host.publish_address,
        restart_policy="no",
        labels={"portal.team": team_slug, "portal.name": name},
    )
    options = create_options(spec)
    start = time.perf_counter()
    container = client.containers.run(**options)
    deadline = start + BUILD_TIMEOUT
    while True:
        container.reload()
        if container.status == "running":
            break
        if container.status in ("exited", "dead") or time.perf_counter() > deadline:
            raise RuntimeError(f"{spec.name} is {container.status}, not running")
        time.sleep(POLL_INTERVAL)
    return ms(time.perf_counter() - start)


def bench_provisioning(database_url: str, repetitions: int, prefix: str) -> None:
    import docker
    from django.contrib.auth.models import User

    from containers.models import Container, ContainerImage, DockerHost
    from containers.services import docker_host_probe
    from portal.choices import Role
    from portal.models import Membership, Quota, Team

    print(f"\n== (b) approve-to-running through a Celery worker vs raw docker, on {DOCKER_URL} ==")
    try:
        client = docker.DockerClient(base_url=DOCKER_URL, timeout=60)
        client.ping()
    except docker.errors.DockerException as error:
        print(f"skipped: {DOCKER_URL} is not available ({error})")
        return
    try:
        engine_image = image_ensure(client)
        docker_host = DockerHost.objects.filter(base_url=DOCKER_URL).first() or DockerHost.objects.create(
            name="local", base_url=DOCKER_URL
        )
        docker_host = docker_host_probe(docker_host_id=docker_host.pk)
        if not docker_host.is_reachable:
            raise RuntimeError(f"{DOCKER_URL} is unreachable: {docker_host.last_error}")
        image, _ = ContainerImage.objects.update_or_create(
            docker_host=docker_host,
            reference=IMAGE_REFERENCE,
            defaults={"image_id": engine_image.id, "size_bytes": engine_image.attrs.get("Size")},
        )
        team = Team.objects.create(name=prefix, slug=prefix)
        Quota.objects.create(team=team, vcpus=Decimal(8), memory_mib=4096, disk_gib=0, vm_count=0, container_count=10)
        member = User.objects.create_user(username=f"{prefix}-member", password=uuid.uuid4().hex)
        Membership.objects.create(user=member, team=team, role=Role.MEMBER)
        admin = User.objects.create_superuser(username=f"{prefix}-admin", password=uuid.uuid4().hex, email="")
        image.offered_to.add(team)
        print(
            f"engine: Docker {docker_host.engine_version}, {docker_host.cpus} CPUs, {docker_host.memory_mib} MiB; "
            f"docker SDK {docker.__version__}"
        )
        print(
            f"containers: {IMAGE_REFERENCE} `{' '.join(COMMAND)}`, {CPUS} CPU, {MEMORY_MIB} MiB, pids 256, "
            "caps dropped, init, no ports; one at a time, removed after each run"
        )

        worker = Worker(database_url)
        worker.start()
        try:

            def portal_once(name: str) -> PortalRun:
                try:
                    return portal_run(team=team, member=member, admin=admin, image=image, name=name)
                finally:
                    engine_clean(client, prefix)
                    Container.objects.filter(team=team).delete()

            def raw_once(name: str) -> float:
                try:
                    return raw_run(client=client, docker_host=docker_host, team_slug=prefix, name=name)
                finally:
                    engine_clean(client, prefix)

            # One untimed round first: the worker's first task and the engine's first create are not measured.
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
    finally:
        engine_clean(client, prefix)
        client.close()

    def line(label: str, values: list[float]) -> str:
        shown = " ".join(f"{v:.0f}" for v in values)
        return f"{label:<50} median {fmt(statistics.median(values))}   runs (ms): {shown}"

    totals = [r.total_ms for r in portal_runs]
    print(line("portal: approve -> job succeeded, container running", totals))
    print(line("  request_approve() call (incl. enqueue)", [r.approve_ms for r in portal_runs]))
    print(line("  job created -> worker started it", [r.queued_ms for r in portal_runs]))
    print(line("  worker: started -> finished (all steps)", [r.build_ms for r in portal_runs]))
    print(line("raw docker: containers.run + reload until running", raw_runs))
    portal_median, raw_median = statistics.median(totals), statistics.median(raw_runs)
    print(
        f"ratio portal / raw (medians): x{portal_median / raw_median:.2f}  "
        f"(portal overhead {portal_median - raw_median:.0f} ms)"
    )


# -- main ----------------------------------------------------------------------------------------


def redis_flush() -> None:
    """Empty the bench's Redis database (the broker's queues and anything the worker left)."""
    with contextlib.suppress(Exception):
        import redis

        connection = redis.Redis.from_url(REDIS_URL)
        connection.flushdb()
        connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timed page loads per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed page loads first (default 3)")
    parser.add_argument("--repetitions", type=int, default=5, help="builds per side in (b) (default 5)")
    parser.add_argument("--skip-docker", action="store_true", help="run (a) only")
    args = parser.parse_args(argv)

    prefix = f"benchctr{uuid.uuid4().hex[:8]}"
    try:
        with bench_database() as bench_url:
            os.environ["DATABASE_URL"] = bench_url
            os.environ["CELERY_BROKER_URL"] = REDIS_URL
            os.environ["REDIS_URL"] = REDIS_URL
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
            os.environ["DEBUG"] = "false"
            # WhiteNoise warns that collectstatic never ran; the benchmark serves no static files.
            warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
            import django

            django.setup()
            from django.core.management import call_command

            print(f"database {BENCH_DB}; Python {platform.python_version()}, Django {django.get_version()}")
            call_command("migrate", verbosity=0)
            bench_pages(args.runs, args.warmup)
            if not args.skip_docker:
                bench_provisioning(bench_url, args.repetitions, prefix)
    finally:
        if not args.skip_docker:
            with contextlib.suppress(Exception):
                import docker

                client = docker.DockerClient(base_url=DOCKER_URL)
                engine_clean(client, prefix)
                client.close()
        redis_flush()


if __name__ == "__main__":
    main()
