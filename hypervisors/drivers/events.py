"""Domain lifecycle events from libvirt hosts, through libvirt's own event loop.

The event loop runs in one daemon thread for the whole process; each watched
host has one read-only connection with keep-alive, so a host that goes away is
noticed within seconds and can be watched again when it returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import libvirt

from hypervisors.drivers.base import HostUnreachable
from hypervisors.drivers.libvirt_driver import STATE_NAMES

logger = logging.getLogger(__name__)

#: Called with (host key, domain UUID, new state) for every lifecycle event.
StateCallback = Callable[[str, str, str], None]

#: Keep-alive: probe every 5 s, give up after 3 unanswered probes.
KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 3

_loop_started = threading.Lock()
_loop_thread: threading.Thread | None = None


def _event_loop_start() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once per process)."""
    global _loop_thread
    with _loop_started:
        if _loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        _loop_thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
        _loop_thread.start()


class LifecycleWatcher:
    """Watches hosts for domain state changes and reports each one to a callback."""

    def __init__(self, on_state: StateCallback):
        _event_loop_start()
        self._on_state = on_state
        #: Watched hosts: their connection and the id of its lifecycle callback.
        self._connections: dict[str, tuple[libvirt.virConnect, int]] = {}
        self._lock = threading.Lock()

    def watch(self, key: str, uri: str) -> None:
        """Start watching a host under ``key``. Raises ``HostUnreachable``."""
        try:
            conn = libvirt.openReadOnly(uri)
        except libvirt.libvirtError as error:
            raise HostUnreachable(error.get_error_message() or str(error)) from error
        try:
            try:
                conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            except libvirt.libvirtError:
                logger.debug("Host %s has no keep-alive (an in-process driver); watching without it", key)
            conn.registerCloseCallback(self._closed, key)
            callback = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._event, key)
        except libvirt.libvirtError as error:
            conn.close()  # a half-set-up connection must not linger
            raise HostUnreachable(error.get_error_message() or str(error)) from error
        with self._lock:
            self._connections[key] = (conn, callback)

    def watching(self) -> set[str]:
        """Keys of the hosts watched now; a host whose connection closed is no longer among them."""
        with self._lock:
            return set(self._connections)

    def close(self) -> None:
        """Stop watching every host: deregister the callbacks (they hold the connections) and close."""
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn, callback in connections:
            try:
                conn.domainEventDeregisterAny(callback)
                conn.unregisterCloseCallback()
                conn.close()
            except libvirt.libvirtError:
                logger.debug("Closing an event connection failed", exc_info=True)

    def _closed(self, _conn: libvirt.virConnect, reason: int, key: str) -> None:
        logger.warning("Event connection to host %s closed (reason %s)", key, reason)
        with self._lock:
            self._connections.pop(key, None)

    def _event(self, _conn: libvirt.virConnect, domain: libvirt.virDomain, event: int, _detail: int, key: str) -> None:
        uuid = domain.UUIDString()
        if event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
            state = "missing"
        else:
            try:
                state = STATE_NAMES.get(domain.state()[0], "unknown")
            except libvirt.libvirtError:
                state = "missing"
        try:
            self._on_state(key, uuid, state)
        except Exception:
            logger.exception("Handling an event of domain %s on host %s failed", uuid, key)
