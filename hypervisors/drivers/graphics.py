"""A domain's VNC display, relayed: the TCP socket QEMU listens on at the host's 127.0.0.1, opened for one session.

The display of a domain defined from a graphical image listens on the loopback only, with a
random password nobody keeps (``domain_xml.graphics_element``). Before each session the relay
sets a fresh password through libvirt, valid for a few seconds, connects to the port the live
domain XML names, and authenticates itself; the browser gets a display that needs no password
(see ``rfb``). So no password is stored, rendered, logged or sent to a browser, and a password
seen by anyone is dead before it could be used again.

Only a host whose libvirtd runs on this machine has a loopback the relay can reach. libvirt's
``openGraphicsFD`` would hand over the display's socket instead, but it passes a file descriptor,
which a ``qemu+ssh://`` connection cannot carry ("Receiving file descriptors is not supported on
this socket", libvirt 9): a remote host has no graphical console.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import libvirt

from hypervisors.drivers.base import DriverError, HostUnreachable
from hypervisors.drivers.console import ConsoleNotRunning
from hypervisors.drivers.domain_xml import VNC_LISTEN, VNC_PASSWORD_LENGTH
from hypervisors.drivers.libvirt_common import error_translate, is_local_uri
from hypervisors.drivers.rfb import ClientGreeting, RfbError, RfbRefused, server_authenticate

logger = logging.getLogger(__name__)

#: How long a session's password opens the display: long enough for the relay to connect at once.
PASSWORD_SECONDS = 30
#: Seconds to connect to the display and finish its handshake.
CONNECT_TIMEOUT = 10
CHUNK = 64 * 1024
#: Tries of one session to set a password and authenticate with it (see ``_display_connect``).
AUTH_ATTEMPTS = 2

#: Sessions of one process set a password and authenticate one at a time, so none spends another's password.
_opening = threading.Lock()


class GraphicsUnavailable(DriverError):
    """The domain has no display the relay can reach; the message says why."""


def graphics_reachable(uri: str) -> bool:
    """Whether the relay can reach displays on this host: only a host on this machine (no file descriptor passing)."""
    return is_local_uri(uri)


def vnc_element(domain_document: str) -> ET.Element | None:
    """The domain's ``<graphics type='vnc'>`` device, or None."""
    root = ET.fromstring(domain_document)  # noqa: S314 - the document comes from libvirt, not a user
    return root.find("devices/graphics[@type='vnc']")


def vnc_address(domain_document: str) -> tuple[str, int] | None:
    """Where a running domain's VNC display listens (address, port), as its live XML says; None if it has none."""
    element = vnc_element(domain_document)
    if element is None:
        return None
    listen = element.find("listen[@type='address']")
    address = listen.get("address", "") if listen is not None else element.get("listen", "")
    port = element.get("port", "")
    if not port.isdigit() or int(port) <= 0:
        return None
    return address, int(port)


class GraphicsRelay:
    """An authenticated connection to one display, relaying bytes. ``close()`` ends it; idempotent."""

    def __init__(self, sock: socket.socket, *, output: Callable[[bytes], None], ended: Callable[[str], None]):
        self._sock = sock
        self._output, self._ended = output, ended
        self._greeting = ClientGreeting(output)
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="vnc-relay", daemon=True)

    def start(self) -> GraphicsRelay:
        self._sock.settimeout(None)
        # Keys and pointer moves are small writes that must leave at once, not wait for an ACK (Nagle).
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._greeting.start()
        self._reader.start()
        return self

    def _read(self) -> None:
        """In the relay's thread: pass what the display sends on, and say when it stops."""
        while True:
            try:
                data = self._sock.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                if not self._closed:
                    self._ended("eof")
                return
            self._output(data)

    def send(self, data: bytes) -> None:
        """What the browser sent: its half of the opening is answered here, the rest goes to the display."""
        try:
            forward = self._greeting.feed(data)
            if forward and not self._closed:
                self._sock.sendall(forward)
        except RfbError:
            logger.info("A browser spoke something else than RFB to a graphical console")
            self._shutdown()
        except OSError:
            logger.debug("Writing to a display failed", exc_info=True)

    def resize(self, cols: int, rows: int) -> None:
        """A display's size travels inside RFB (SetDesktopSize); there is nothing to pass on."""

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._shutdown()
        self._sock.close()


def _password_set(domain: libvirt.virDomain, element: ET.Element, password: str) -> None:
    """Give the running display a fresh password that stops working ``PASSWORD_SECONDS`` from now."""
    valid_to = datetime.now(UTC) + timedelta(seconds=PASSWORD_SECONDS)
    element.set("passwd", password)
    element.set("passwdValidTo", valid_to.strftime("%Y-%m-%dT%H:%M:%S"))
    domain.updateDeviceFlags(ET.tostring(element, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE)


def _display_connect(conn: libvirt.virConnect, uuid: str) -> socket.socket:
    """Set a session password, connect to the display and authenticate; a socket at ClientInit.

    Another web process may set its own password between this one's setting and using it: the
    display then refuses, and the session tries once more with a fresh password.
    """
    for attempt in range(AUTH_ATTEMPTS):
        with _opening:
            domain = conn.lookupByUUIDString(uuid)
            if not domain.isActive():
                raise ConsoleNotRunning("The domain is not running.")
            document = domain.XMLDesc(0)
            element, address = vnc_element(document), vnc_address(document)
            if element is None or address is None:
                raise GraphicsUnavailable("This VM has no graphical display.")
            if address[0] != VNC_LISTEN:
                raise GraphicsUnavailable("This VM's display does not listen on its host's loopback only.")
            password = secrets.token_urlsafe(VNC_PASSWORD_LENGTH)[:VNC_PASSWORD_LENGTH]
            _password_set(domain, element, password)
            sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
            try:
                server_authenticate(sock, password)
            except RfbRefused:
                sock.close()
                if attempt + 1 == AUTH_ATTEMPTS:
                    raise
                continue
            except (RfbError, OSError):
                sock.close()
                raise
            return sock
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def graphics_open(
    uri: str, uuid: str, *, output: Callable[[bytes], None], ended: Callable[[str], None]
) -> GraphicsRelay:
    """Open a session on a running domain's display.

    Raises ``GraphicsUnavailable`` (no display, a remote host, a display not on the loopback, a
    refused handshake), ``ConsoleNotRunning``, ``DomainNotFound``, ``HostUnreachable``.
    """
    if not graphics_reachable(uri):
        raise GraphicsUnavailable("Graphical consoles reach only VMs on the portal's own host.")
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise HostUnreachable(error.get_error_message() or str(error)) from error
    try:
        sock = _display_connect(conn, uuid)
    except libvirt.libvirtError as error:
        raise error_translate(error) from error
    except (RfbError, OSError) as error:
        raise GraphicsUnavailable(f"The display did not open: {error}") from error
    finally:
        conn.close()
    return GraphicsRelay(sock, output=output, ended=ended).start()


__all__ = ["GraphicsRelay", "GraphicsUnavailable", "graphics_open", "graphics_reachable", "vnc_address"]
