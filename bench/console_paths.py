"""The two ways the console benchmark reaches a guest's serial console, and what it measures on each.

``RawPath`` is the console stream opened with bare libvirt calls; ``PortalPath`` is the portal's
websocket as a browser opens it. Both collect the output in one buffer, so the same keystroke and
throughput loops run on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

from common import ms

KEYSTROKES = 200
#: Keystrokes typed on one line before it is erased (Ctrl-U), so the shell never redraws a wrapped line.
LINE = 40
#: The guest prints this many bytes (lines of 73 characters and a newline) for the throughput figure.
OUTPUT_BYTES = 1024 * 1024
#: Seconds any single answer (an echo, a marker) may take before the run is called failed.
TIMEOUT = 60.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Console:
    """One way to reach the console: bytes go in with ``send``; output collects in ``buffer``."""

    name = ""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.arrived = asyncio.Event()

    def received(self, data: bytes) -> None:
        self.buffer += data
        self.arrived.set()

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def wait_for(self, marker: bytes, start: int = 0) -> None:
        """Until ``marker`` appears in the output after offset ``start``."""
        deadline = time.monotonic() + TIMEOUT
        while marker not in self.buffer[start:]:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))

    async def quiet(self, seconds: float = 0.2) -> None:
        """Until nothing arrived for ``seconds`` (after a line was erased, whose redraw is not known exactly)."""
        while True:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), seconds)
            except TimeoutError:
                return


class RawPath(Console):
    """The console stream opened with bare SDK calls; its callbacks run in libvirt's event loop thread."""

    name = "raw libvirt"

    def __init__(self, uri: str, vm_uuid: str) -> None:
        from hypervisors.drivers.raw import raw_console_open

        super().__init__()
        loop = asyncio.get_running_loop()
        self.conn, self.stream = raw_console_open(uri, vm_uuid, lambda data: self._handoff(loop, data))

    def _handoff(self, loop: asyncio.AbstractEventLoop, data: bytes) -> None:
        loop.call_soon_threadsafe(self.received, data)

    async def send(self, data: bytes) -> None:
        self.stream.send(data)  # a few bytes: the stream takes them at once

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stream.eventRemoveCallback()
            self.stream.abort()
        self.conn.close()


class PortalPath(Console):
    """The portal's console websocket, as the browser opens it: session cookie, Origin, one-time ticket."""

    name = "portal websocket"

    def __init__(self, socket_: Any) -> None:
        super().__init__()
        self.socket = socket_
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, base: str, path: str, cookie: str, ticket: str) -> PortalPath:
        import websockets
        from websockets.typing import Origin

        url = f"{base.replace('http', 'ws', 1)}{path}?ticket={ticket}"
        socket_ = await websockets.connect(
            url, origin=Origin(base), additional_headers={"Cookie": cookie}, max_size=None, compression=None
        )
        return cls(socket_)

    async def _read(self) -> None:
        async for frame in self.socket:
            if isinstance(frame, bytes):
                self.received(frame)

    async def send(self, data: bytes) -> None:
        await self.socket.send(data)

    async def close(self) -> None:
        await self.socket.close()
        self.reader.cancel()


async def round_trips(console: Console) -> list[float]:
    """Milliseconds from each keystroke sent until its echo arrived."""
    times: list[float] = []
    for n in range(KEYSTROKES):
        if n % LINE == 0:
            await console.send(b"\x15")  # Ctrl-U: erase the line typed so far
            await console.quiet()
        start = len(console.buffer)
        sent = time.perf_counter()
        await console.send(b"x")
        await console.wait_for(b"x", start)
        times.append(ms(time.perf_counter() - sent))
    await console.send(b"\x15")
    await console.quiet()
    return times


async def throughput(console: Console) -> tuple[float, int]:
    """Seconds for the guest to print ``OUTPUT_BYTES`` through this path, and the bytes that arrived."""
    marker = f"done{secrets.randbelow(10**6)}"
    # The marker is printed with an arithmetic expansion, so the command's own echo cannot match it.
    half = marker[:3], marker[3:]
    command = f"yes {'y' * 71} | head -c {OUTPUT_BYTES}; echo {half[0]}$((0)){half[1]}\r"
    start = len(console.buffer)
    began = time.perf_counter()
    await console.send(command.encode())
    await console.wait_for(f"{half[0]}0{half[1]}".encode(), start)
    seconds = time.perf_counter() - began
    await console.quiet()
    return seconds, len(console.buffer) - start
