"""Benchmark of first boot: what reading a NoCloud seed adds to the tiny guest's boot.

Run from the repository root:

    .venv/bin/python bench/bench_first_boot.py --runs 3

On ``qemu:///system``, tiny guests (1 vCPU, 96 MiB, a card on the host's ``default`` network) boot
from the guest image in ``PORTAL_GUEST_IMAGE_DIR``, one at a time, without and then with a seed
(made by ``hypervisors.vms.cloud_init`` and uploaded through the driver, as a build does). The time
is from ``domain_start`` returning to the guest's banner in its serial log, which the guest prints
after it has applied the seed (the DHCP lease is taken in the background, after it). Domains,
volumes, the pool and the logs are removed at the end, also when a step fails. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import uuid
from pathlib import Path

from common import ROOT  # noqa: F401 - puts the project on sys.path

from hypervisors.drivers import DomainSpec, HypervisorDriver, InterfaceSpec, driver_for
from hypervisors.drivers.raw import libvirt_sdk as libvirt
from hypervisors.vms.cloud_init import seed_files, seed_iso

LIBVIRT_URI = "qemu:///system"
BENCH_POOL = "portal-bench-first-boot"
BENCH_POOL_PATH = "/var/lib/libvirt/images/portal-bench-first-boot"
GUEST_DIR = Path(os.environ.get("PORTAL_GUEST_IMAGE_DIR", "/var/lib/libvirt/images/portal-guest"))
CONSOLE_LOG_DIR = Path("/var/log/libvirt/qemu")
BANNER = "portal-guest: booted"
BOOT_TIMEOUT = 120.0


def boot_seconds(driver: HypervisorDriver, *, seeded: bool) -> float:
    """Define, start and time one guest until its banner; then remove it."""
    vm_uuid = str(uuid.uuid4())
    name = f"bench-first-boot.{vm_uuid[:8]}"
    log = CONSOLE_LOG_DIR / f"{name}.console.log"
    disk = driver.volume_ensure(pool=BENCH_POOL, name=f"{vm_uuid}.qcow2", capacity_gib=1)
    seed = ""
    if seeded:
        files = seed_files(instance_id=vm_uuid, hostname="bench", keys=[], text="#cloud-config\nruncmd:\n  - true\n")
        seed = driver.volume_upload(pool=BENCH_POOL, name=f"{vm_uuid}-seed.iso", data=seed_iso(files))
    spec = DomainSpec(
        uuid=vm_uuid,
        name=name,
        domain_type=driver.probe().domain_types[0],
        vcpus=1,
        memory_mib=96,
        disk_path=disk,
        kernel_path=str(GUEST_DIR / "vmlinuz"),
        initrd_path=str(GUEST_DIR / "initramfs.cpio.gz"),
        kernel_cmdline="console=ttyS0 panic=-1 quiet",
        interfaces=(InterfaceSpec(mac="", network="default"),),
        console_log=str(log),
        seed_path=seed,
    )
    try:
        driver.domain_define(spec)
        started = time.monotonic()
        driver.domain_start(vm_uuid)
        while BANNER not in (log.read_text(errors="replace") if log.exists() else ""):
            if time.monotonic() - started > BOOT_TIMEOUT:
                raise RuntimeError(f"{name} printed no banner in {BOOT_TIMEOUT:.0f} s")
            time.sleep(0.05)
        return time.monotonic() - started
    finally:
        driver.domain_delete(vm_uuid)
        for volume in (f"{vm_uuid}.qcow2", f"{vm_uuid}-seed.iso"):
            driver.volume_delete(pool=BENCH_POOL, name=volume)
        with contextlib.suppress(FileNotFoundError):
            log.unlink()


def pool_remove() -> None:
    """Remove the bench's storage pool (the driver has no call for it: the portal never removes a pool)."""
    conn = libvirt.open(LIBVIRT_URI)
    try:
        pool = conn.storagePoolLookupByName(BENCH_POOL)
        if pool.isActive():
            pool.destroy()
        pool.delete(0)
        pool.undefine()
    except libvirt.libvirtError as error:
        print(f"could not remove pool {BENCH_POOL}: {error}")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with driver_for(LIBVIRT_URI) as driver:
        driver.pool_ensure(name=BENCH_POOL, path=BENCH_POOL_PATH)
        try:
            boot_seconds(driver, seeded=True)  # untimed warm-up (page cache of the kernel and initramfs)
            results: dict[str, list[float]] = {"without seed": [], "with seed": []}
            for _ in range(args.runs):  # interleaved, so a burst of load falls on both
                results["without seed"].append(boot_seconds(driver, seeded=False))
                results["with seed"].append(boot_seconds(driver, seeded=True))
        finally:
            pool_remove()
    print(f"guest image: {GUEST_DIR}; runs per side: {args.runs}; load average: {os.getloadavg()[0]:.1f}")
    for label, times in results.items():
        print(
            f"  {label:>12}: median {statistics.median(times):5.1f} s, min {min(times):5.1f} s, max {max(times):5.1f} s"
        )


if __name__ == "__main__":
    main()
