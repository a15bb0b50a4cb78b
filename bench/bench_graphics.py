"""Benchmark of the graphical console: the portal's websocket relay against a direct connection to the display.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_graphics.py

On one running tiny guest (96 MiB, 1 vCPU) of an image with a graphical console on ``qemu:///system``,
served by one uvicorn process on a free port of 127.0.0.1, it measures the time to open a session
(up to ServerInit) and the time of a whole-screen raw update, through the portal's websocket and
straight to the display's TCP socket (authenticated by the driver the same way, with a password of
its session). It works in its own throwaway database (``portal_bench_graphics``) and the console
bench's storage pool, removed at the end even on failure. It prints figures; it asserts nothing
about timings. See bench/README.md.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import struct
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from bench_console import GUEST_DIR, LIBVIRT_URI, guests_start, host_clean, host_row, server_start
from common import bench_database, django_setup, team_with_member, versions
from console_paths import percentile

BENCH_DB = "portal_bench_graphics"
#: Sessions opened one after the other, and whole-screen updates asked for on each path.
OPENINGS = 20
UPDATES = 30


class Rfb:
    """The client's side of RFB over some transport: bytes gathered across reads, messages sent."""

    def __init__(self, receive: Callable[[], Awaitable[bytes]], send: Callable[[bytes], Awaitable[None]]):
        self._receive, self.send = receive, send
        self.buffer = b""
        self.size = (0, 0, 0)

    async def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += await self._receive()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    async def init(self) -> None:
        """ClientInit (shared) and ServerInit: the display's width, height and bytes per pixel."""
        await self.send(b"\x01")
        width, height = struct.unpack(">HH", await self.take(4))
        pixel_bytes = (await self.take(16))[0] // 8
        (name_length,) = struct.unpack(">I", await self.take(4))
        await self.take(name_length)
        self.size = (width, height, pixel_bytes)

    async def update(self) -> int:
        """One whole-screen, non-incremental update in raw rectangles; its bytes."""
        width, height, pixel_bytes = self.size
        await self.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
        message_type, _padding, rectangles = struct.unpack(">BBH", await self.take(4))
        assert message_type == 0, f"message type {message_type}"
        total = 4
        for _ in range(rectangles):
            _x, _y, w, h, _encoding = struct.unpack(">HHHHi", await self.take(12))
            total += 12 + len(await self.take(w * h * pixel_bytes))
        return total


async def portal_open(base: str, path: str, cookie: str, ticket: str) -> tuple[Rfb, Callable[[], Awaitable[None]]]:
    """A session through the portal, as noVNC opens it: ticket, websocket, the relay's opening with security None."""
    import websockets
    from websockets.typing import Origin

    url = f"{base.replace('http', 'ws', 1)}{path}?ticket={ticket}"
    socket = await websockets.connect(
        url, origin=Origin(base), additional_headers={"Cookie": cookie}, max_size=None, compression=None
    )

    async def receive() -> bytes:
        while True:
            frame = await socket.recv()
            if isinstance(frame, bytes):
                return frame
            if '"type": "open"' not in frame:
                raise RuntimeError(f"the console said: {frame}")

    async def send(data: bytes) -> None:
        await socket.send(data)

    rfb = Rfb(receive, send)
    assert await rfb.take(12) == b"RFB 003.008\n"
    await rfb.send(b"RFB 003.008\n")
    assert await rfb.take(2) == b"\x01\x01"
    await rfb.send(b"\x01")
    assert await rfb.take(4) == b"\0\0\0\0"
    await rfb.init()
    return rfb, socket.close


async def direct_open(vm_uuid: str) -> tuple[Rfb, Callable[[], Awaitable[None]]]:
    """A session straight to the display's socket, authenticated by the driver (password of its own, VNC auth)."""
    from hypervisors.drivers.graphics import _display_connect
    from hypervisors.drivers.raw import libvirt_sdk as libvirt

    def connect() -> Any:
        conn = libvirt.open(LIBVIRT_URI)
        try:
            return _display_connect(conn, vm_uuid)
        finally:
            conn.close()

    sock = await asyncio.to_thread(connect)
    sock.settimeout(None)
    reader, writer = await asyncio.open_connection(sock=sock)

    async def receive() -> bytes:
        data = await reader.read(65536)
        if not data:
            raise RuntimeError("the display closed")
        return data

    async def send(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    async def close() -> None:
        writer.close()

    rfb = Rfb(receive, send)
    await rfb.init()
    return rfb, close


async def measure(base: str, vm: Any, member: Any) -> None:
    from channels.db import database_sync_to_async

    from portal.choices import ConsoleKind
    from portal.consoles import console_ticket_issue
    from tests.support.websockets import session_cookie

    cookie = await database_sync_to_async(session_cookie)(member)
    issue = database_sync_to_async(console_ticket_issue)

    async def through_portal() -> tuple[Rfb, Callable[[], Awaitable[None]]]:
        ticket = await issue(actor=member, target=vm, team=vm.team, kind=ConsoleKind.GRAPHICAL)  # untimed below
        began = time.perf_counter()
        opened = await portal_open(base, f"/ws/vms/{vm.uuid}/graphics/", cookie, ticket)
        opening_times["portal websocket"].append((time.perf_counter() - began) * 1000)
        return opened

    async def direct() -> tuple[Rfb, Callable[[], Awaitable[None]]]:
        began = time.perf_counter()
        opened = await direct_open(str(vm.uuid))
        opening_times["direct to display"].append((time.perf_counter() - began) * 1000)
        return opened

    opening_times: dict[str, list[float]] = {"direct to display": [], "portal websocket": []}
    update_times: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for name, opener in (("direct to display", direct), ("portal websocket", through_portal)):
        for _ in range(OPENINGS - 1):
            _rfb, close = await opener()
            await close()
        rfb, close = await opener()
        try:
            sizes[name] = await rfb.update()  # warms the path; not counted
            times = []
            for _ in range(UPDATES):
                began = time.perf_counter()
                await rfb.update()
                times.append((time.perf_counter() - began) * 1000)
            update_times[name] = times
        finally:
            await close()
    width, height, pixel_bytes = rfb.size
    print(f"\nopening a session up to ServerInit, {OPENINGS} sessions one after the other (ms):")
    for name, times in opening_times.items():
        print(f"  {name:18} p50 {statistics.median(times):7.2f}  p95 {percentile(times, 0.95):7.2f}")
    print(f"\nwhole-screen raw update, {width}x{height} at {pixel_bytes * 8} bits, {UPDATES} updates (ms):")
    for name, times in update_times.items():
        rate = sizes[name] / (statistics.median(times) / 1000) / 2**20
        print(f"  {name:18} p50 {statistics.median(times):7.2f}  p95 {percentile(times, 0.95):7.2f}  {rate:.0f} MiB/s")


def main() -> None:
    if not (GUEST_DIR / "vmlinuz").exists():
        sys.exit(f"needs the guest image in {GUEST_DIR} (scripts/setup.sh builds it)")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    slug = f"bg{uuid.uuid4().hex[:8]}"
    with bench_database(BENCH_DB) as database_url:
        django_setup(database_url)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is called from the measuring event loop
        print(versions(BENCH_DB))
        from hypervisors.models import Image

        server = None
        try:
            sizes: dict[str, Any] = {"vcpus": Decimal(1), "memory_mib": 1024, "disk_gib": 4, "vm_count": 1}
            team, member = team_with_member(slug=slug, username="bench", container_count=0, **sizes)
            Image.objects.create(
                name="busybox-tiny",
                os_name="busybox",
                kernel_path=str(GUEST_DIR / "vmlinuz"),
                initrd_path=str(GUEST_DIR / "initramfs.cpio.gz"),
                kernel_cmdline="console=ttyS0 panic=-1 quiet",
                graphical_console=True,
            )
            vm = guests_start(host_row(), team, member, ["graphics"])[0]
            server, base = server_start(database_url)
            print(f"guest: 1 vCPU, 96 MiB, a VNC display; one uvicorn process (pid {server.pid}) at {base}")
            asyncio.run(measure(base, vm, member))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=20)
            host_clean(f"{slug}.")


if __name__ == "__main__":
    main()
