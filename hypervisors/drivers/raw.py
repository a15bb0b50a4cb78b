"""The bare libvirt SDK, handed out from the one package allowed to import it.

Only the benchmarks use it: they measure the portal against the same work done
with raw SDK calls. Portal code goes through :func:`hypervisors.drivers.driver_for`.
"""

from collections.abc import Callable

import libvirt

from hypervisors.drivers.events import _event_loop_start
from hypervisors.drivers.libvirt_driver import DOMAIN_STATS_FLAGS

#: The libvirt module itself, for raw baselines.
libvirt_sdk = libvirt


def raw_console_open(
    uri: str, uuid: str, on_data: Callable[[bytes], None]
) -> tuple[libvirt.virConnect, libvirt.virStream]:
    """A domain's serial console as bare SDK calls: a non-blocking stream whose output goes to ``on_data``.

    The baseline a console benchmark compares the portal with, so it does no more than a
    libvirt client must: the event loop, the stream, a readable callback. Write with
    ``stream.send``; close with ``stream.abort()`` and ``conn.close()``.
    """
    _event_loop_start()
    conn = libvirt.open(uri)
    stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
    conn.lookupByUUIDString(uuid).openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)

    def readable(stream: libvirt.virStream, _events: int, _opaque: object) -> None:
        while True:
            data = stream.recv(64 * 1024)
            if data == -2 or not data:
                return
            on_data(bytes(data))

    stream.eventAddCallback(libvirt.VIR_STREAM_EVENT_READABLE, readable, None)
    return conn, stream


__all__ = ["DOMAIN_STATS_FLAGS", "libvirt_sdk", "raw_console_open"]
