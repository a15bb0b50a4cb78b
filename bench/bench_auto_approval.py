"""Benchmark: submit-to-running of an ask an auto-approval policy covers, against raw libvirt.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_auto_approval.py

The portal's side is timed from calling ``request_submit`` (the policy approves inside it) until the
job row says succeeded and the VM row running, through a real Celery worker; the raw side creates the
volume, defines and starts the same domain straight through libvirt. It prints the ratio of the
medians (the aim is at most x1.15). It works in its own throwaway database (``portal_bench_auto``),
Redis database 13 (``--broker-url``) and the storage pool of ``bench_pages.py``, removed at the end even on failure.
"""

from __future__ import annotations

import argparse
import time
import uuid
from decimal import Decimal
from typing import Any

from bench_pages import GUEST_DIR, LIBVIRT_URI, Cleanup, host_clean, host_prepare, raw_libvirt_baseline
from common import (
    POLL_INTERVAL,
    PortalRun,
    Worker,
    bench_database,
    broker_purge,
    django_setup,
    interleaved_runs,
    ms,
    provisioning_report,
    team_with_member,
    versions,
)

BENCH_DB = "portal_bench_auto"
BROKER_URL = "redis://127.0.0.1:6379/13"
#: Seconds one build may take before the run is called failed.
BUILD_TIMEOUT = 180.0


def submit_and_wait(*, team: Any, member: Any, image: Any, name: str) -> PortalRun:
    """Time ``request_submit`` (approved by the policy) -> the worker builds -> the rows say succeeded and running."""
    from hypervisors.choices import HypervisorKind, VMState
    from hypervisors.models import VirtualMachine
    from portal.choices import JobState
    from portal.models import Job
    from portal.services import request_submit

    start = time.perf_counter()
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name=name, vcpus=1, memory_mib=96, disk_gib=1,
        justification="benchmark", spec={"image_id": image.pk, "image": image.name},
    )  # fmt: skip
    submitted = time.perf_counter()
    if request.approval_policy_id is None:
        raise RuntimeError(f"{name} was not approved by the policy: {request.state}")
    job = Job.objects.get(request=request)
    deadline = submitted + BUILD_TIMEOUT
    while True:
        state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).get()
        running = VirtualMachine.objects.filter(request=request, state=VMState.RUNNING)
        if state == JobState.SUCCEEDED and running.exists():
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
        approve_ms=ms(submitted - start),
        queued_ms=ms((job.started_at - job.created_at).total_seconds()),
        build_ms=ms((job.finished_at - job.started_at).total_seconds()),
    )


def bench_auto_approval(database_url: str, broker_url: str, repetitions: int, cleanup: Cleanup) -> None:
    from hypervisors.drivers.raw import libvirt_sdk as libvirt
    from hypervisors.models import Image, VirtualMachine
    from portal.models import AutoApprovalPolicy, ResourceRequest

    print(f"\n== submit-to-running of an in-policy ask through a Celery worker vs raw libvirt, on {LIBVIRT_URI} ==")
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
        slug=cleanup.prefix, username="bench-member", vcpus=Decimal(8), memory_mib=4096, disk_gib=100, vm_count=10,
        container_count=0,
    )  # fmt: skip
    image = Image.objects.create(
        name="busybox-tiny", os_name="busybox", kernel_path=str(GUEST_DIR / "vmlinuz"),
        initrd_path=str(GUEST_DIR / "initramfs.cpio.gz"), kernel_cmdline="console=ttyS0 panic=-1 quiet",
    )  # fmt: skip
    AutoApprovalPolicy.objects.create(
        name="tiny-vms", team=team, kinds=["vm"], max_vcpus=Decimal(1), max_memory_mib=128, max_disk_gib=1,
        images=[f"vm:{image.pk}"],
    )  # fmt: skip
    print(f"host: domain type {host.domain_type}, {host.cpus} CPUs, libvirt {host.libvirt_version}")
    print("guests: 1 vCPU, 96 MiB, 1 GiB qcow2, direct kernel boot; one at a time, removed after each run")

    def portal_once(name: str) -> PortalRun:
        cleanup.domains.add(f"{team.slug}.{name}")
        run = submit_and_wait(team=team, member=member, image=image, name=name)
        host_clean(cleanup, final=False)
        VirtualMachine.objects.filter(team=team).delete()
        ResourceRequest.objects.filter(team=team).delete()  # the run's request no longer holds quota
        return run

    def raw_once(name: str) -> float:
        elapsed = raw_libvirt_baseline(host=host, image=image, domain_name=f"{cleanup.prefix}.{name}", cleanup=cleanup)
        host_clean(cleanup, final=False)
        return elapsed

    portal_runs, raw_runs = interleaved_runs(
        Worker(database_url, broker_url, name_prefix="benchauto"), portal_once, raw_once, repetitions
    )
    provisioning_report(
        portal_runs,
        raw_runs,
        portal_label="portal: submit (policy) -> job succeeded, running",
        raw_label="raw libvirt: volume + defineXML + create",
        width=50,
        call_label="request_submit() call (approval, enqueue)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=5, help="builds per side (default 5)")
    parser.add_argument("--broker-url", default=BROKER_URL, help=f"a Redis database of the bench's own ({BROKER_URL})")
    args = parser.parse_args(argv)

    cleanup = Cleanup(prefix=f"benchauto{uuid.uuid4().hex[:6]}")
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url, broker_url=args.broker_url)
        print(versions(BENCH_DB))
        try:
            bench_auto_approval(bench_url, args.broker_url, args.repetitions, cleanup)
        finally:
            host_clean(cleanup, final=True)
            broker_purge()


if __name__ == "__main__":
    main()
