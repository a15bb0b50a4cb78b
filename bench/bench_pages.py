"""Benchmarks of the portal: page times at 1,000 VMs, and approve-to-running against raw libvirt.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_pages.py

It works in its own throwaway database (``portal_bench``), Redis database 14 and storage pool, removed
at the end even on failure. It prints figures, asserts nothing on timings; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import (
    PageFigures,
    PortalRun,
    Worker,
    approve_and_wait,
    bench_database,
    broker_purge,
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

BENCH_DB = "portal_bench"
BROKER_URL = "redis://127.0.0.1:6379/14"
LIBVIRT_URI = "qemu:///system"
BENCH_POOL = "portal-bench"
BENCH_POOL_PATH = "/var/lib/libvirt/images/portal-bench"
GUEST_DIR = Path("/var/lib/libvirt/images/portal-guest")
CONSOLE_LOG_DIR = Path("/var/log/libvirt/qemu")
#: Rows of the page benchmark.
VM_ROWS, SMALL_VM_ROWS, REQUEST_ROWS, JOB_ROWS = 1000, 10, 200, 300
#: Seconds one build may take before the run is called failed.
BUILD_TIMEOUT = 180.0


# -- (a) pages -----------------------------------------------------------------------------------


def seed_team(*, slug: str, username: str, vms: int, requests: int, jobs: int) -> Any:
    """A team, its member and ``vms`` VMs with requests and jobs, all written in bulk. Returns the member."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from hypervisors.choices import HypervisorKind, VMJobAction, VMState
    from hypervisors.models import Host, Image, VirtualMachine
    from portal.choices import JobState, RequestState
    from portal.models import Job, ResourceRequest

    team, user = team_with_member(
        slug=slug,
        username=username,
        vcpus=Decimal(vms * 4),
        memory_mib=vms * 4096,
        disk_gib=vms * 100,
        vm_count=vms * 2,
        container_count=10,
    )
    # A host that placement never picks: the rows only need one to render.
    host, _ = Host.objects.get_or_create(
        name="bench-fake-host",
        defaults={"uri": "test:///bench", "is_reachable": False, "accepts_new_vms": False, "domain_type": "qemu"},
    )
    image, _ = Image.objects.get_or_create(
        name="bench-fake-image", defaults={"os_name": "busybox", "kernel_path": "/nonexistent/vmlinuz"}
    )
    request_states = [RequestState.FULFILLED] * 6 + [RequestState.PENDING, RequestState.REJECTED, RequestState.FAILED]
    request_rows = ResourceRequest.objects.bulk_create(
        ResourceRequest(
            team=team,
            kind=HypervisorKind.VM,
            name=f"req{i:04d}",
            vcpus=Decimal(1),
            memory_mib=128,
            disk_gib=1,
            justification="benchmark",
            spec={"image_id": image.pk},
            requested_by=user,
            state=request_states[i % len(request_states)],
            decision_reason="benchmark" if i % 9 == 7 else "",
        )
        for i in range(requests)
    )
    fulfilled = [r for r in request_rows if r.state == RequestState.FULFILLED]
    vm_states = [VMState.RUNNING] * 8 + [VMState.SHUTOFF, VMState.PAUSED]
    vm_rows = VirtualMachine.objects.bulk_create(
        VirtualMachine(
            team=team,
            owner=user,
            request=fulfilled[i] if i < len(fulfilled) else None,
            host=host,
            host_name=host.name,  # bulk_create calls no save()
            image=image,
            name=f"vm{i:04d}",
            vcpus=1,
            memory_mib=128,
            disk_gib=1,
            state=vm_states[i % len(vm_states)],
        )
        for i in range(vms)
    )
    vm_type = ContentType.objects.get_for_model(VirtualMachine)
    now = timezone.now().isoformat(timespec="seconds")
    log = [{"time": now, "message": f"step {n}"} for n in range(9)]
    Job.objects.bulk_create(
        Job(
            action=VMJobAction.VM_PROVISION,
            state=JobState.SUCCEEDED,
            progress=100,
            log=log,
            team=team,
            requested_by=user,
            target_type=vm_type,
            target_id=str(vm_rows[i % len(vm_rows)].pk),
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        for i in range(jobs)
    )
    return user


def bench_pages(runs: int, warmup: int) -> None:
    from django.test import Client

    print(f"\n== (a) pages: {VM_ROWS} VMs, {REQUEST_ROWS} requests, {JOB_ROWS} jobs in one team ==")
    start = time.perf_counter()
    big = seed_team(slug="bench-big", username="bench-big", vms=VM_ROWS, requests=REQUEST_ROWS, jobs=JOB_ROWS)
    small = seed_team(slug="bench-small", username="bench-small", vms=SMALL_VM_ROWS, requests=5, jobs=5)
    print(f"seeded in {ms(time.perf_counter() - start):.0f} ms; N={runs} timed runs after {warmup} warm-up(s)")

    results: dict[tuple[str, str], PageFigures] = {}
    for label, user in (("1000 VMs", big), (f"{SMALL_VM_ROWS} VMs", small)):
        client = Client()
        client.force_login(user)
        for url in ("/", "/vms/"):
            results[(label, url)] = page_measure(client, url, runs, warmup)

    print(f"{'page':<8} {'team':<9} {'median':>11} {'max':>11} {'queries':>8} {'bytes':>8}")
    for (label, url), figures in results.items():
        print(
            f"{url:<8} {label:<9} {fmt(figures.median)} {fmt(figures.maximum)} {figures.queries:>8} {figures.size:>8}"
        )
    for url in ("/", "/vms/"):
        big_figures, small_figures = results[("1000 VMs", url)], results[(f"{SMALL_VM_ROWS} VMs", url)]
        print(
            f"ratio {url:<5} 1000 VMs / {SMALL_VM_ROWS} VMs: median x{big_figures.median / small_figures.median:.2f}, "
            f"queries {big_figures.queries} vs {small_figures.queries}"
        )


# -- (b) approve-to-running vs raw libvirt ------------------------------------------------------


@dataclass
class Cleanup:
    """What the run made on the host, removed at the end whatever happens."""

    prefix: str
    domains: set[str] = field(default_factory=set)


def host_prepare() -> Any:
    """The local qemu:///system as a probed Host row, on the bench's own storage pool."""
    from hypervisors.choices import NetworkState
    from hypervisors.drivers.raw import libvirt_sdk as libvirt
    from hypervisors.hosts.services import host_probe
    from hypervisors.models import Host, VirtualNetwork

    conn = libvirt.open(LIBVIRT_URI)
    try:
        network = conn.networkLookupByName("default")
        if not network.isActive():
            network.create()
        network_uuid = network.UUIDString()
    finally:
        conn.close()
    host = host_probe(host_id=Host.objects.create(name="local", uri=LIBVIRT_URI).pk)
    if not host.is_reachable:
        raise RuntimeError(f"{LIBVIRT_URI} is unreachable: {host.last_error}")
    host.storage_pool, host.storage_path, host.network = BENCH_POOL, BENCH_POOL_PATH, "default"
    host.save()
    # Shared by an administrator as the host's default: the portal's VMs join it, as the raw
    # baseline's do (without it each team gets a network of its own, which needs an address pool).
    VirtualNetwork.objects.create(
        host=host, team=None, name="default", libvirt_name="default", uuid=network_uuid, state=NetworkState.ACTIVE
    )
    return host


def portal_run(*, team: Any, member: Any, admin: Any, image: Any, name: str, cleanup: Cleanup) -> PortalRun:
    """Ask (untimed), then time approve -> worker builds -> the rows say succeeded and running."""
    from hypervisors.choices import HypervisorKind, VMState
    from hypervisors.models import VirtualMachine
    from portal.services import request_submit

    request = request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name=name,
        vcpus=1,
        memory_mib=96,
        disk_gib=1,
        justification="benchmark",
        spec={"image_id": image.pk, "image": image.name},
    )
    cleanup.domains.add(f"{team.slug}.{name}")
    return approve_and_wait(
        admin=admin,
        request=request,
        name=name,
        is_running=lambda: VirtualMachine.objects.filter(request=request, state=VMState.RUNNING).exists(),
        timeout=BUILD_TIMEOUT,
    )


def raw_libvirt_baseline(*, host: Any, image: Any, domain_name: str, cleanup: Cleanup) -> float:
    """The raw baseline of (b): time create-volume + defineXML + create of the same domain, straight through libvirt.

    Every call here goes to the libvirt SDK directly, on a connection opened before the timer starts;
    the portal's ``volume_xml``/``domain_xml`` only write the same XML the portal's driver sends.
    """
    from hypervisors.drivers import DomainSpec
    from hypervisors.drivers.domain_xml import domain_xml, volume_xml
    from hypervisors.drivers.raw import libvirt_sdk as libvirt

    vm_uuid = str(uuid.uuid4())
    cleanup.domains.add(domain_name)
    conn = libvirt.open(LIBVIRT_URI)
    try:
        pool = conn.storagePoolLookupByName(BENCH_POOL)
        start = time.perf_counter()
        volume = pool.createXML(volume_xml(name=f"{vm_uuid}.qcow2", capacity_gib=1), 0)
        spec = DomainSpec(
            uuid=vm_uuid,
            name=domain_name,
            domain_type=host.domain_type,
            vcpus=1,
            memory_mib=96,
            disk_path=volume.path(),
            kernel_path=image.kernel_path,
            initrd_path=image.initrd_path,
            kernel_cmdline=image.kernel_cmdline,
            network=host.network,
            console_log=str(CONSOLE_LOG_DIR / f"{domain_name}.console.log"),
            metadata={"team": "bench", "name": domain_name, "owner": "bench"},
        )
        domain = conn.defineXML(domain_xml(spec))
        domain.create()
        elapsed = time.perf_counter() - start
        if domain.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
            raise RuntimeError(f"{domain_name} is not running after create()")
        return ms(elapsed)
    finally:
        conn.close()


def host_clean(cleanup: Cleanup, *, final: bool) -> None:
    """Destroy and undefine the bench's domains, delete their volumes (and, at the end, the pool)."""
    from hypervisors.drivers.raw import libvirt_sdk as libvirt

    try:
        conn = libvirt.open(LIBVIRT_URI)
    except libvirt.libvirtError as error:
        print(f"cleanup: cannot reach {LIBVIRT_URI}: {error}", file=sys.stderr)
        return
    try:
        for domain in conn.listAllDomains(0):
            if domain.name() in cleanup.domains or domain.name().startswith(cleanup.prefix):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
        for name in cleanup.domains:
            for log in (CONSOLE_LOG_DIR / f"{name}.console.log", CONSOLE_LOG_DIR / f"{name}.log"):
                with contextlib.suppress(OSError):
                    log.unlink(missing_ok=True)
        try:
            pool = conn.storagePoolLookupByName(BENCH_POOL)
        except libvirt.libvirtError:
            return
        if pool.isActive():
            pool.refresh(0)
            for volume in pool.listAllVolumes(0):
                volume.delete(0)
        if final:  # the pool is the bench's own; the first build made it
            if pool.isActive():
                pool.destroy()
            pool.delete(0)
            pool.undefine()
    finally:
        conn.close()


def bench_provisioning(database_url: str, repetitions: int, cleanup: Cleanup) -> None:
    from hypervisors.drivers.raw import libvirt_sdk as libvirt
    from hypervisors.models import Image, VirtualMachine

    print(f"\n== (b) approve-to-running through a Celery worker vs raw libvirt, on {LIBVIRT_URI} ==")
    try:
        libvirt.open(LIBVIRT_URI).close()
    except libvirt.libvirtError as error:
        print(f"skipped: {LIBVIRT_URI} is not available ({error})")
        return
    if not (GUEST_DIR / "vmlinuz").exists():
        print(f"skipped: no guest image in {GUEST_DIR}")
        return

    host = host_prepare()
    team, member = team_with_member(
        slug=cleanup.prefix,
        username="bench-member",
        vcpus=Decimal(8),
        memory_mib=4096,
        disk_gib=100,
        vm_count=10,
        container_count=0,
    )
    admin = superuser("bench-admin")
    image = Image.objects.create(
        name="busybox-tiny",
        os_name="busybox",
        kernel_path=str(GUEST_DIR / "vmlinuz"),
        initrd_path=str(GUEST_DIR / "initramfs.cpio.gz"),
        kernel_cmdline="console=ttyS0 panic=-1 quiet",
    )
    print(
        f"host: domain type {host.domain_type}, {host.cpus} CPUs, {host.memory_mib} MiB, libvirt {host.libvirt_version}"
    )
    print("guests: 1 vCPU, 96 MiB, 1 GiB qcow2, direct kernel boot; one at a time, removed after each run")

    def portal_once(name: str) -> PortalRun:
        run = portal_run(team=team, member=member, admin=admin, image=image, name=name, cleanup=cleanup)
        host_clean(cleanup, final=False)
        VirtualMachine.objects.filter(team=team).delete()
        return run

    def raw_once(name: str) -> float:
        elapsed = raw_libvirt_baseline(host=host, image=image, domain_name=f"{cleanup.prefix}.{name}", cleanup=cleanup)
        host_clean(cleanup, final=False)
        return elapsed

    portal_runs, raw_runs = interleaved_runs(
        Worker(database_url, BROKER_URL, name_prefix="bench"), portal_once, raw_once, repetitions
    )
    provisioning_report(
        portal_runs,
        raw_runs,
        portal_label="portal: approve -> job succeeded, VM running",
        raw_label="raw libvirt: volume + defineXML + create",
        width=44,
    )


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timed page loads per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed page loads first (default 3)")
    parser.add_argument("--repetitions", type=int, default=5, help="builds per side in (b) (default 5)")
    parser.add_argument("--skip-libvirt", action="store_true", help="run (a) only")
    args = parser.parse_args(argv)

    cleanup = Cleanup(prefix=f"bench{uuid.uuid4().hex[:8]}")
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url, broker_url=BROKER_URL)
        print(versions(BENCH_DB))
        try:
            bench_pages(args.runs, args.warmup)
            if not args.skip_libvirt:
                bench_provisioning(bench_url, args.repetitions, cleanup)
        finally:
            if not args.skip_libvirt:
                host_clean(cleanup, final=True)
                broker_purge()


if __name__ == "__main__":
    main()
