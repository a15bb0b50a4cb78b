"""A domain's serial console through libvirt: a non-blocking stream driven by libvirt's event loop.

The stream travels over the libvirt connection itself, so the console of a host reached
by ``qemu+ssh://`` needs no port of its own. Output arrives in the event loop's thread
(see ``events``) and is handed to a callback; input is written from the caller's thread,
and what the stream cannot take at once waits for it to become writable.

Recent output comes from the ``<log>`` file that virtlogd writes for the serial device
(``DomainSpec.console_log``): it holds everything the guest printed since it started, the
boot log included, whether or not anyone had a console open. A local host's file is
read directly; a ``qemu+ssh://`` host's through the same SSH the URI names.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import libvirt

from hypervisors.drivers.base import DomainNotFound, DriverError, HostUnreachable
from hypervisors.drivers.events import KEEPALIVE_COUNT, KEEPALIVE_INTERVAL, _event_loop_start
from hypervisors.drivers.libvirt_common import error_translate, is_local_uri

logger = logging.getLogger(__name__)

#: How much recent output a newly opened console shows.
RECENT_BYTES = 64 * 1024
#: Largest read from the stream at once.
CHUNK = 64 * 1024
#: Stream events always listened for; writable is added only while keystrokes wait.
LISTEN = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP


class ConsoleNotRunning(DriverError):
    """The domain does not run, so it has no console to open."""


class ConsoleHeld(DriverError):
    """Another client holds the domain's console; opening it with ``take_over`` takes it away."""


class SerialConsole:
    """An open serial console of one domain, on a connection of its own. ``close()`` ends it; idempotent."""

    def __init__(self, uri: str, uuid: str, *, output: Callable[[bytes], None], ended: Callable[[str], None]):
        self.uri, self.uuid = uri, uuid
        self._output, self._ended = output, ended
        self._conn: libvirt.virConnect | None = None
        self._stream: libvirt.virStream | None = None
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._closed = False
        #: Set once the stream ended by itself; the owner still calls ``close()``.
        self._ending = False

    def open(self, *, take_over: bool = False) -> SerialConsole:
        """Attach to the console.

        Raises ``ConsoleNotRunning``, ``ConsoleHeld``, ``DomainNotFound``, ``HostUnreachable``.
        """
        _event_loop_start()  # stream callbacks need the event loop registered before the connection opens
        try:
            self._conn = libvirt.open(self.uri)
        except libvirt.libvirtError as error:
            raise HostUnreachable(error.get_error_message() or str(error)) from error
        try:
            try:
                self._conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            except libvirt.libvirtError:
                logger.debug("No keep-alive on %s (an in-process driver)", self.uri)
            domain = self._conn.lookupByUUIDString(self.uuid)
            if not domain.isActive():
                raise ConsoleNotRunning("The domain is not running.")
            self._stream = self._conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if take_over else 0
            try:
                domain.openConsole(None, self._stream, flags)
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED and not take_over:
                    raise ConsoleHeld(error.get_error_message() or str(error)) from error
                raise
            self._stream.eventAddCallback(LISTEN, self._on_event, None)
        except libvirt.libvirtError as error:
            self.close()
            raise error_translate(error) from error
        except DriverError:
            self.close()
            raise
        return self

    def _on_event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        """In the event loop's thread: read what is there, write what waited, notice the end."""
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            while not self._ending:
                try:
                    data = stream.recv(CHUNK)
                except libvirt.libvirtError:
                    self._end("lost")
                    return
                if data == -2:  # nothing more for now
                    break
                if not data:
                    self._end("eof")
                    return
                self._output(bytes(data))
        if events & libvirt.VIR_STREAM_EVENT_WRITABLE:
            self._flush()
        if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
            self._end("eof")

    def _end(self, reason: str) -> None:
        """Stop listening and tell the owner, who closes: closing a connection inside its own callback is unsafe."""
        if self._ending or self._closed:
            return
        self._ending = True
        stream = self._stream
        try:
            if stream is not None:
                stream.eventRemoveCallback()
        except libvirt.libvirtError:
            logger.debug("Removing the console callback of %s failed", self.uuid, exc_info=True)
        self._ended(reason)

    def send(self, data: bytes) -> None:
        """Write keystrokes; what the stream cannot take now is written when it becomes writable."""
        with self._lock:
            self._pending += data
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            stream = self._stream
            if stream is None or self._closed or self._ending:
                return
            while self._pending:
                try:
                    sent = stream.send(bytes(self._pending))
                except libvirt.libvirtError:
                    logger.debug("Writing to the console of %s failed", self.uuid, exc_info=True)
                    return
                if sent == -2:
                    break
                del self._pending[:sent]
            wanted = LISTEN
            if self._pending:
                wanted |= libvirt.VIR_STREAM_EVENT_WRITABLE
            try:
                stream.eventUpdateCallback(wanted)
            except libvirt.libvirtError:
                logger.debug("Updating the console callback of %s failed", self.uuid, exc_info=True)

    def resize(self, cols: int, rows: int) -> None:
        """A serial line has no size to pass on; the guest's shell keeps its own (``stty``)."""

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            listening = not self._ending
            stream, conn = self._stream, self._conn
            self._stream = self._conn = None
        for step in (
            lambda: stream and listening and stream.eventRemoveCallback(),
            lambda: stream and stream.abort(),
            lambda: conn and conn.close(),
        ):
            try:
                step()
            except libvirt.libvirtError:
                logger.debug("Closing the console of %s", self.uuid, exc_info=True)


def console_open(
    uri: str, uuid: str, *, take_over: bool, output: Callable[[bytes], None], ended: Callable[[str], None]
) -> SerialConsole:
    """Open a domain's serial console; see :meth:`SerialConsole.open` for what it raises."""
    return SerialConsole(uri, uuid, output=output, ended=ended).open(take_over=take_over)


def console_log_path(domain_document: str) -> str:
    """The file that keeps a domain's serial output (``<serial><log file=…>``); empty when it has none."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    log = root.find("devices/serial/log")
    return log.get("file", "") if log is not None else ""


def console_recent(uri: str, uuid: str, limit: int = RECENT_BYTES) -> bytes:
    """The last ``limit`` bytes the domain's serial port printed; empty when the host keeps no log of it.

    Raises ``DomainNotFound``, ``HostUnreachable``.
    """
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise HostUnreachable(error.get_error_message() or str(error)) from error
    try:
        path = console_log_path(conn.lookupByUUIDString(uuid).XMLDesc(0))
    except libvirt.libvirtError as error:
        raise error_translate(error) from error
    finally:
        conn.close()
    if not path:
        return b""
    if is_local_uri(uri):
        return _tail_local(Path(path), limit)
    return _tail_over_ssh(uri, path, limit)


def _tail_local(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - limit))
            return log.read(limit)
    except OSError:
        logger.info("Console log %s could not be read", path)
        return b""


def _tail_over_ssh(uri: str, path: str, limit: int) -> bytes:
    """Read the end of a remote host's console log through ssh, as libvirt's own ``qemu+ssh://`` transport does."""
    parts = urlsplit(uri)
    if not parts.scheme.endswith("+ssh") or not parts.hostname:
        return b""
    params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    command = [params.get("command", "ssh"), "-o", "BatchMode=yes"]
    if parts.port:
        command += ["-p", str(parts.port)]
    if params.get("keyfile"):
        command += ["-i", params["keyfile"]]
    target = f"{parts.username}@{parts.hostname}" if parts.username else parts.hostname
    remote = f"tail -c {int(limit)} -- {shlex.quote(path)}"
    try:
        done = subprocess.run([*command, "--", target, remote], capture_output=True, timeout=15, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        logger.info("Console log of %s could not be read over ssh", uri)
        return b""
    return done.stdout[-limit:] if done.returncode == 0 else b""


__all__ = ["ConsoleHeld", "ConsoleNotRunning", "DomainNotFound", "SerialConsole", "console_open", "console_recent"]
