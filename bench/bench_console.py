"""Benchmark of the browser console: the portal's websocket against a raw libvirt console stream.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_console.py

On one running tiny guest (96 MiB, 1 vCPU) on ``qemu:///system``, served by one uvicorn process
on a free port of 127.0.0.1, it measures the keystroke round trip and the output throughput of
both paths, and the memory and CPU of concurrent console sessions on that process. It works in
its own throwaway database (``portal_bench_console``) and storage pool, removed at the end even
on failure. It prints figures; it asserts nothing about timings. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import ROOT, bench_database, django_setup, team_with_member, versions
from console_paths import (
    KEYSTROKES,
    LINE,
    OUTPUT_BYTES,
    Console,
    PortalPath,
    RawPath,
    percentile,
    round_trips,
    throughput,
)

BENCH_DB = "portal_bench_console"
LIBVIRT_URI = "qemu:///system"
BENCH_POOL = "portal-bench-console"
BENCH_POOL_PATH = "/var/lib/libvirt/images/portal-bench-console"
GUEST_DIR = Path("/var/lib/libvirt/images/portal-guest")
CONSOLE_LOG_DIR = Path("/var/log/libvirt/qemu")
BANNER = b"portal-guest: booted"
SESSIONS = 20
BOOT_TIMEOUT = 120.0
#: Seconds of each window in which the server's CPU time is counted: sessions idle, then typing.
WINDOW = 5.0
#: Keystrokes a second each session types in the typing window (a fast typist).
TYPING_RATE = 10


def guests_start(host: Any, team: Any, member: Any, names: list[str]) -> list[Any]:
    """Tiny guests defined and started through the driver, as running VM rows of the team, booted to their shell."""
    from hypervisors.choices import VMState
    from hypervisors.drivers import driver_for
    from hypervisors.models import Image, VirtualMachine
    from hypervisors.vms.provisioning import domain_spec

    image, _ = Image.objects.get_or_create(
        name="busybox-tiny",
        defaults={
            "os_name": "busybox",
            "kernel_path": str(GUEST_DIR / "vmlinuz"),
            "initrd_path": str(GUEST_DIR / "initramfs.cpio.gz"),
            "kernel_cmdline": "console=ttyS0 panic=-1 quiet",
        },
    )
    vms = [
        VirtualMachine.objects.create(
            team=team,
            owner=member,
            host=host,
            image=image,
            name=name,
            domain_name=f"{team.slug}.{name}",
            vcpus=1,
            memory_mib=96,
            disk_gib=1,
            state=VMState.RUNNING,
        )
        for name in names
    ]
    with driver_for(host.uri) as driver:
        driver.pool_ensure(name=BENCH_POOL, path=BENCH_POOL_PATH)
        for vm in vms:
            disk = driver.volume_ensure(pool=BENCH_POOL, name=f"{vm.domain_name}.qcow2", capacity_gib=1)
            driver.domain_define(domain_spec(vm, disk))
            driver.domain_start(str(vm.uuid))
    began = time.monotonic()
    booted: list[Any] = []
    # On a busy host some guests may boot late: the sessions go on with those that booted in time.
    while len(booted) < len(vms) and time.monotonic() < began + BOOT_TIMEOUT:
        time.sleep(0.2)
        booted = [vm for vm in vms if BANNER in _read(CONSOLE_LOG_DIR / f"{vm.domain_name}.console.log")]
    print(f"{len(booted)} of {len(vms)} guest(s) booted in {time.monotonic() - began:.1f} s")
    if not booted:
        raise RuntimeError(f"no guest booted in {BOOT_TIMEOUT:.0f} s")
    return booted


def _read(log: Path) -> bytes:
    try:
        return log.read_bytes()
    except OSError:
        return b""


def host_row() -> Any:
    from hypervisors.hosts.services import host_probe
    from hypervisors.models import Host

    host = host_probe(host_id=Host.objects.create(name="local", uri=LIBVIRT_URI).pk)
    if not host.is_reachable:
        raise RuntimeError(f"{LIBVIRT_URI} is unreachable: {host.last_error}")
    host.storage_pool, host.storage_path = BENCH_POOL, BENCH_POOL_PATH
    host.save()
    return host


def host_clean(prefix: str) -> None:
    """Destroy and undefine the bench's domain, delete its volume, pool and console logs."""
    from hypervisors.drivers.raw import libvirt_sdk as libvirt

    conn = libvirt.open(LIBVIRT_URI)
    try:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(prefix):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
                for log in CONSOLE_LOG_DIR.glob(f"{domain.name()}*.log"):
                    with contextlib.suppress(OSError):
                        log.unlink()
        with contextlib.suppress(libvirt.libvirtError):
            pool = conn.storagePoolLookupByName(BENCH_POOL)
            if pool.isActive():
                pool.refresh(0)
                for volume in pool.listAllVolumes(0):
                    volume.delete(0)
                pool.destroy()
            pool.delete(0)
            pool.undefine()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_start(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """One uvicorn process with the portal's ASGI application on a free port of 127.0.0.1."""
    import urllib.request

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2):
                return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.1)


def process_usage(pid: int) -> tuple[float, float]:
    """Resident memory (MiB) and CPU seconds so far of a process, from /proc."""
    rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS")
    )
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kib / 1024, cpu


def report_round_trips(figures: dict[str, list[float]]) -> None:
    print(f"\nkeystroke round trip, {KEYSTROKES} keystrokes (ms):")
    for name, times in figures.items():
        print(f"  {name:18} p50 {statistics.median(times):7.2f}  p95 {percentile(times, 0.95):7.2f}")
    portal, raw = figures["portal websocket"], figures["raw libvirt"]
    p95_portal, p95_raw = percentile(portal, 0.95), percentile(raw, 0.95)
    print(
        f"  ratio portal/raw: p50 {statistics.median(portal) / statistics.median(raw):.2f}, "
        f"p95 {p95_portal / p95_raw:.2f}; p95 difference {p95_portal - p95_raw:+.2f} ms (target <= +5 ms: "
        f"{'met' if p95_portal <= p95_raw + 5 else 'NOT met'})"
    )


def report_throughput(figures: dict[str, tuple[float, int]]) -> None:
    print(f"\noutput throughput, the guest prints {OUTPUT_BYTES // 1024} KiB:")
    rates = {}
    for name, (seconds, size) in figures.items():
        rates[name] = size / seconds / 1024
        print(f"  {name:18} {seconds:6.2f} s for {size} bytes: {rates[name]:8.1f} KiB/s")
    ratio = rates["portal websocket"] / rates["raw libvirt"]
    print(f"  ratio portal/raw: {ratio:.2f} (target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})")


async def measure(base: str, vm: Any, member: Any, server_pid: int, more: Callable[[], list[Any]]) -> None:
    from channels.db import database_sync_to_async

    from portal.choices import ConsoleKind
    from portal.consoles import console_ticket_issue
    from tests.support.websockets import session_cookie

    cookie = await database_sync_to_async(session_cookie)(member)

    async def portal_open(target: Any = vm) -> PortalPath:
        issue = database_sync_to_async(console_ticket_issue)
        ticket = await issue(actor=member, target=target, team=target.team, kind=ConsoleKind.SERIAL)
        return await PortalPath.open(base, f"/ws/vms/{target.uuid}/console/", cookie, ticket)

    async def raw_open() -> RawPath:
        return RawPath(LIBVIRT_URI, str(vm.uuid))

    trips: dict[str, list[float]] = {}
    rates: dict[str, tuple[float, int]] = {}
    # The console admits one client at a time: each side in turn, each warmed by one untimed keystroke line.
    for name, opener in (("raw libvirt", raw_open), ("portal websocket", portal_open)):
        console: Console = await opener()
        try:
            await console.send(b"\x15echo ready$((1+1))\r")
            await console.wait_for(b"ready2")
            await console.quiet()
            trips[name] = await round_trips(console)
            rates[name] = await throughput(console)
        finally:
            await console.close()
    report_round_trips(trips)
    report_throughput(rates)
    # A serial console admits one client, so each concurrent session is on a guest of its own.
    vms = [vm, *await asyncio.to_thread(more)]
    await concurrency(server_pid, [portal_open(target) for target in vms])


async def concurrency(server_pid: int, openings: list[Awaitable[PortalPath]]) -> None:
    """Memory and CPU of the one server process with the sessions open: idle, then all typing at once."""
    rss_before, _ = process_usage(server_pid)
    sessions = list(await asyncio.gather(*openings))
    try:
        for session in sessions:
            await session.send(b"\x15echo ready$((1+1))\r")
        await asyncio.gather(*(session.wait_for(b"ready2") for session in sessions))
        await asyncio.gather(*(session.quiet() for session in sessions))
        rss_open, cpu_open = process_usage(server_pid)
        await asyncio.sleep(WINDOW)
        rss_idle, cpu_idle = process_usage(server_pid)

        async def type_for(session: PortalPath) -> None:
            for n in range(int(WINDOW * TYPING_RATE)):
                await session.send(b"\x15" if n % LINE == LINE - 1 else b"x")
                await asyncio.sleep(1 / TYPING_RATE)

        await asyncio.gather(*(type_for(session) for session in sessions))
        rss_typing, cpu_typing = process_usage(server_pid)
    finally:
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
    count = len(sessions)
    print(f"\n{count} concurrent console sessions on one uvicorn process (each on its own guest):")
    print(
        f"  resident memory (MiB): before {rss_before:.1f}, open {rss_open:.1f}, "
        f"idle {rss_idle:.1f}, typing {rss_typing:.1f}"
    )
    print(f"  memory per session: {(max(rss_open, rss_typing) - rss_before) / count * 1024:.0f} KiB")
    idle = (cpu_idle - cpu_open) / WINDOW / count * 100
    typing = (cpu_typing - cpu_idle) / WINDOW / count * 100
    print(f"  CPU per session: idle {idle:.2f} % of a core; typing {TYPING_RATE} keys/s {typing:.2f} % of a core")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    if not (GUEST_DIR / "vmlinuz").exists():
        sys.exit(f"needs the guest image in {GUEST_DIR} (scripts/setup.sh builds it)")
    # DEBUG is off (as in production), which needs a key of its own; nothing outlives the throwaway database.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    slug = f"bc{uuid.uuid4().hex[:8]}"
    with bench_database(BENCH_DB) as database_url:
        django_setup(database_url)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is called from the measuring event loop
        print(versions(BENCH_DB))
        server = None
        try:
            sizes: dict[str, Any] = {
                "vcpus": Decimal(SESSIONS),
                "memory_mib": 4096,
                "disk_gib": 40,
                "vm_count": SESSIONS,
            }
            team, member = team_with_member(slug=slug, username="bench", container_count=0, **sizes)
            host = host_row()
            vm = guests_start(host, team, member, ["console"])[0]
            server, base = server_start(database_url)
            print(f"guest: 1 vCPU, 96 MiB, direct kernel boot; one uvicorn process (pid {server.pid}) at {base}")
            names = [f"c{n:02d}" for n in range(1, SESSIONS)]
            asyncio.run(measure(base, vm, member, server.pid, lambda: guests_start(host, team, member, names)))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=20)
            host_clean(f"{slug}.")


if __name__ == "__main__":
    main()
