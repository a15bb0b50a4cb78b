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
import subprocess
import time
import uuid
from decimal import Decimal
from typing import Any

from common import (
    POLL_INTERVAL,
    ROOT,
    PageFigures,
    PortalRun,
    Worker,
    analyze,
    approve_and_wait,
    bench_database,
    django_setup,
    fmt,
    interleaved_runs,
    ms,
    page_measure,
    provisioning_report,
    superuser,
    team_with_member,
    versions,
)

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


# -- (a) pages -----------------------------------------------------------------------------------


def engine_rows() -> tuple[Any, Any]:
    """The local engine as a DockerHost row and the bench image as a ContainerImage row on it."""
    from containers.models import ContainerImage, DockerHost

    docker_host = DockerHost.objects.create(name="local", base_url=DOCKER_URL, is_reachable=True)
    image = ContainerImage.objects.create(docker_host=docker_host, reference=IMAGE_REFERENCE, image_id="sha256:bench")
    return docker_host, image


def seed_team(*, slug: str, username: str, containers: int, docker_host: Any, image: Any) -> Any:
    """A team, its member and ``containers`` container rows written in bulk. Returns the member."""
    from containers.models import Container

    team, user = team_with_member(
        slug=slug,
        username=username,
        vcpus=Decimal(containers),
        memory_mib=containers * 128,
        disk_gib=0,
        vm_count=0,
        container_count=containers * 2,
    )
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


def bench_pages(runs: int, warmup: int) -> None:
    from django.test import Client

    print(f"\n== (a) pages: {BIG_ROWS} containers in one team vs {SMALL_ROWS} in another ==")
    start = time.perf_counter()
    docker_host, image = engine_rows()
    big = seed_team(slug="bench-big", username="bench-big", containers=BIG_ROWS, docker_host=docker_host, image=image)
    small = seed_team(
        slug="bench-small", username="bench-small", containers=SMALL_ROWS, docker_host=docker_host, image=image
    )
    analyze()
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


def engine_clean(client: Any, prefix: str, *, networks: bool = False) -> None:
    """Remove every engine container (and, with ``networks``, network) whose name starts with the bench's prefix."""
    for container in client.containers.list(all=True, filters={"name": prefix}):
        if container.name.startswith(prefix):
            with contextlib.suppress(Exception):
                container.remove(force=True)
    for network in client.networks.list(names=[prefix]) if networks else []:
        if network.name.startswith(prefix):
            with contextlib.suppress(Exception):
                network.remove()


def image_ensure(client: Any) -> Any:
    """The bench image, built by scripts/build-container-image.sh if the engine lacks it."""
    from containers.drivers.raw import docker_sdk

    ImageNotFound = docker_sdk.errors.ImageNotFound

    try:
        return client.images.get(IMAGE_REFERENCE)
    except ImageNotFound:
        subprocess.run([str(ROOT / "scripts" / "build-container-image.sh"), IMAGE_REFERENCE], check=True)
        return client.images.get(IMAGE_REFERENCE)


def portal_run(*, team: Any, member: Any, admin: Any, image: Any, name: str) -> PortalRun:
    """Ask (untimed), then time approve -> worker builds -> the rows say succeeded and running."""
    from containers.choices import ContainerKind, ContainerState
    from containers.models import Container
    from portal.services import request_submit

    request = request_submit(
        actor=member,
        team=team,
        kind=ContainerKind.CONTAINER,
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
    return approve_and_wait(
        admin=admin,
        request=request,
        name=name,
        is_running=lambda: Container.objects.filter(request=request, state=ContainerState.RUNNING).exists(),
        timeout=BUILD_TIMEOUT,
    )


def raw_docker_baseline(*, client: Any, docker_host: Any, team_slug: str, name: str, network: str) -> float:
    """The raw baseline of (b): time ``containers.run`` straight through the docker SDK, until it is running.

    ``client`` is an already open ``docker.DockerClient``; the portal's ``create_options`` only builds
    the same keyword arguments (limits, capabilities, labels) for the same spec, before the timer starts.
    """
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
        network=network,  # the team's own network, made by the portal's first (untimed) build
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
    from containers.drivers.raw import docker_sdk as docker
    from containers.engines.services import docker_host_probe
    from containers.models import Container, ContainerImage, DockerHost
    from portal.bases import team_network_name

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
        team, member = team_with_member(
            slug=prefix,
            username=f"{prefix}-member",
            vcpus=Decimal(8),
            memory_mib=4096,
            disk_gib=0,
            vm_count=0,
            container_count=10,
        )
        admin = superuser(f"{prefix}-admin")
        image.offered_to.add(team)
        print(
            f"engine: Docker {docker_host.engine_version}, {docker_host.cpus} CPUs, {docker_host.memory_mib} MiB; "
            f"docker SDK {docker.__version__}"
        )
        print(
            f"containers: {IMAGE_REFERENCE} `{' '.join(COMMAND)}`, {CPUS} CPU, {MEMORY_MIB} MiB, pids 256, "
            "caps dropped, init, no ports; one at a time, removed after each run"
        )

        def portal_once(name: str) -> PortalRun:
            try:
                return portal_run(team=team, member=member, admin=admin, image=image, name=name)
            finally:
                engine_clean(client, prefix)
                Container.objects.filter(team=team).delete()

        def raw_once(name: str) -> float:
            try:
                network = f"{prefix}.{team_network_name(docker_host.name)}"
                return raw_docker_baseline(
                    client=client, docker_host=docker_host, team_slug=prefix, name=name, network=network
                )
            finally:
                engine_clean(client, prefix)

        worker = Worker(database_url, REDIS_URL, name_prefix="bench-ctr", redis_url=REDIS_URL)
        portal_runs, raw_runs = interleaved_runs(worker, portal_once, raw_once, repetitions)
    finally:
        engine_clean(client, prefix, networks=True)
        client.close()

    provisioning_report(
        portal_runs,
        raw_runs,
        portal_label="portal: approve -> job succeeded, container running",
        raw_label="raw docker: containers.run + reload until running",
        width=50,
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
        with bench_database(BENCH_DB) as bench_url:
            django_setup(bench_url, broker_url=REDIS_URL, redis_url=REDIS_URL)
            print(versions(BENCH_DB))
            bench_pages(args.runs, args.warmup)
            if not args.skip_docker:
                bench_provisioning(bench_url, args.repetitions, prefix)
    finally:
        if not args.skip_docker:
            with contextlib.suppress(Exception):
                from containers.drivers.raw import docker_sdk as docker

                client = docker.DockerClient(base_url=DOCKER_URL)
                engine_clean(client, prefix)
                client.close()
        redis_flush()


if __name__ == "__main__":
    main()
