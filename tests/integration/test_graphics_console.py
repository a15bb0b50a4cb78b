"""The graphical console on the real stack: a tiny guest's VNC display on ``qemu:///system``, through the
real ASGI application's websocket and the relay, spoken to in RFB as noVNC would.

The relay authenticates to the display with a password of its own session; the client here is offered
security type None and completes the handshake without ever knowing a password.
"""

from __future__ import annotations

import json
import struct
import time
import xml.etree.ElementTree as ET

import pytest
from channels.testing import WebsocketCommunicator

from hypervisors.models import VirtualMachine
from portal.choices import ConsoleKind
from portal.consoles import console_ticket_issue
from portal.models import AuditEvent
from tests.integration.test_consoles import running_vm  # noqa: F401
from tests.support.qemu import virsh
from tests.support.websockets import communicator, run

pytestmark = [pytest.mark.integration]

ANSWER_TIMEOUT = 30


class RfbReader:
    """What a websocket brought: RFB bytes gathered across frames, and the console's JSON messages."""

    def __init__(self, socket: WebsocketCommunicator):
        self.socket = socket
        self.buffer = b""
        self.messages: list[dict[str, object]] = []

    async def _more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; bytes so far: {self.buffer[:200]!r}, messages: {self.messages}")
        try:
            frame = await self.socket.receive_output(remaining)
        except TimeoutError:
            return
        if frame["type"] == "websocket.close":
            self.messages.append({"type": "closed"})
        elif frame.get("bytes") is not None:
            self.buffer += frame["bytes"]
        elif frame.get("text") is not None:
            self.messages.append(json.loads(frame["text"]))

    async def take(self, count: int) -> bytes:
        """The next ``count`` RFB bytes."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(self.buffer) < count:
            await self._more(deadline)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    async def message(self, message_type: str) -> dict[str, object]:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while not any(m["type"] == message_type for m in self.messages):
            await self._more(deadline)
        return next(m for m in self.messages if m["type"] == message_type)


async def rfb_open(reader: RfbReader) -> tuple[int, int, int]:
    """The client's side of the opening up to ServerInit; the display's width, height and bytes per pixel."""
    socket = reader.socket
    assert await reader.take(12) == b"RFB 003.008\n"
    await socket.send_to(bytes_data=b"RFB 003.008\n")
    assert await reader.take(2) == bytes([1, 1])  # one security type: None (the relay did the VNC auth)
    await socket.send_to(bytes_data=bytes([1]))
    assert await reader.take(4) == b"\0\0\0\0"  # SecurityResult: OK
    await socket.send_to(bytes_data=bytes([1]))  # ClientInit, shared
    width, height = struct.unpack(">HH", await reader.take(4))
    bits_per_pixel = (await reader.take(16))[0]
    (name_length,) = struct.unpack(">I", await reader.take(4))
    await reader.take(name_length)
    assert width > 0 and height > 0 and bits_per_pixel in (8, 16, 32)
    return width, height, bits_per_pixel // 8


async def framebuffer_update(reader: RfbReader, width: int, height: int, pixel_bytes: int) -> int:
    """Ask for the whole screen (not incremental) and read the update; how many pixels it brought.

    The client announced no encodings, so the display sends raw rectangles only (RFC 6143, 7.7.1).
    """
    await reader.socket.send_to(bytes_data=struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    message_type, _padding, rectangles = struct.unpack(">BBH", await reader.take(4))
    assert message_type == 0, f"expected a FramebufferUpdate, got message type {message_type}"
    pixels = 0
    for _ in range(rectangles):
        _x, _y, w, h, encoding = struct.unpack(">HHHHi", await reader.take(12))
        assert encoding == 0, f"expected a raw rectangle, got encoding {encoding}"
        await reader.take(w * h * pixel_bytes)
        pixels += w * h
    return pixels


def graphics_element(vm: VirtualMachine, *flags: str) -> ET.Element:
    document = virsh("dumpxml", *flags, str(vm.uuid)).stdout
    element = ET.fromstring(document).find("devices/graphics[@type='vnc']")
    assert element is not None, document
    return element


def test_the_vnc_display_listens_on_loopback_and_relays_rfb_to_a_framebuffer_update(running_vm, live_member):  # noqa: F811
    vm = running_vm
    element = graphics_element(vm)
    listen = element.find("listen")
    assert element.get("listen") == "127.0.0.1" and listen is not None and listen.get("address") == "127.0.0.1"
    assert element.get("passwd") is None and int(element.get("port", "0")) >= 5900
    path = f"/ws/vms/{vm.uuid}/graphics/"

    def ticket() -> str:
        return console_ticket_issue(actor=live_member, target=vm, team=vm.team, kind=ConsoleKind.GRAPHICAL)

    first = communicator(path, user=live_member, ticket=ticket())
    second = communicator(path, user=live_member, ticket=ticket())

    async def body() -> None:
        assert (await first.connect())[0]
        one = RfbReader(first)
        await one.message("open")
        width, height, pixel_bytes = await rfb_open(one)
        assert await framebuffer_update(one, width, height, pixel_bytes) > 0
        # The session's password was set through libvirt with an end: it opens the display for seconds only.
        assert graphics_element(vm, "--security-info").get("passwdValidTo")

        # Each session sets a password of its own; a second one opens, and the first one stays.
        assert (await second.connect())[0]
        two = RfbReader(second)
        await two.message("open")
        await rfb_open(two)
        assert await framebuffer_update(one, width, height, pixel_bytes) > 0

        virsh("destroy", str(vm.uuid))
        for reader in (one, two):
            ended = await reader.message("ended")
            assert ended["reason"] == "stopped"
            await reader.socket.disconnect()

    run(body)
    events = list(AuditEvent.objects.filter(action="console.graphical").order_by("id"))
    assert [event.detail.split("reason=")[1] for event in events] == ["stopped", "stopped"]
    assert all("bytes_in=0 " not in event.detail and "bytes_out=0 " not in event.detail for event in events)
