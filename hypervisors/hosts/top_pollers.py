"""One poller per watched host: a thread that reads the host's bulk statistics every few seconds
and hands the rows to everyone watching it (``/hosts/<id>/top/``, a team's top page).

Pollers are shared by all watchers in the process and counted: the first watcher of a host
starts its poller, the last one to leave stops it, so a host nobody watches costs nothing.
Watchers are callables run in the poller's thread; they must not block (a websocket consumer
hands the message over to its event loop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from hypervisors.drivers import DriverError, HypervisorDriver, driver_for
from hypervisors.hosts.top_rows import Reading, host_read, top_rows

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Watcher = Callable[[Message], None]


class HostPoller:
    """Reads one host every ``interval`` seconds (one bulk call each time) while it is running."""

    def __init__(self, *, host_id: int, uri: str, interval: float):
        self.host_id = host_id
        self.uri = uri
        self.interval = interval
        self.watchers: set[Watcher] = set()
        #: The last message sent, given at once to a watcher that joins later.
        self.latest: Message | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"top-host-{host_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to end after the read under way, if any; returns at once."""
        self._stopping.set()

    def add(self, watcher: Watcher) -> None:
        with self._lock:
            self.watchers.add(watcher)
            latest = self.latest
        if latest is not None:
            watcher(latest)

    def remove(self, watcher: Watcher) -> int:
        """Forget a watcher; returns how many remain."""
        with self._lock:
            self.watchers.discard(watcher)
            return len(self.watchers)

    def _run(self) -> None:
        driver: HypervisorDriver | None = None
        previous: Reading | None = None
        try:
            while not self._stopping.is_set():
                started = time.monotonic()
                try:
                    if driver is None:
                        driver = driver_for(self.uri)
                    current = host_read(driver, taken_at=time.monotonic(), previous=previous)
                    message: Message = {"type": "rows", "host": self.host_id, "rows": top_rows(previous, current)}
                    previous = current
                except DriverError as error:
                    message = {"type": "error", "host": self.host_id, "message": str(error)}
                    previous = None
                    if driver is not None:
                        driver.close()
                        driver = None
                self._publish(message)
                self._stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            if driver is not None:
                driver.close()

    def _publish(self, message: Message) -> None:
        with self._lock:
            self.latest = message
            watchers = list(self.watchers)
        for watcher in watchers:
            try:
                watcher(message)
            except Exception:  # one watcher gone wrong (its event loop closed) must not starve the others
                logger.exception("a top watcher of host %s failed", self.host_id)


class PollerRegistry:
    """The running pollers of this process, one per host, counted by their watchers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pollers: dict[int, HostPoller] = {}

    def watch(self, *, host_id: int, uri: str, watcher: Watcher) -> HostPoller:
        """Add a watcher to the host's poller, starting one if the host had no watcher."""
        with self._lock:
            poller = self._pollers.get(host_id)
            if poller is None:
                poller = HostPoller(host_id=host_id, uri=uri, interval=settings.PORTAL_TOP_INTERVAL_SECONDS)
                self._pollers[host_id] = poller
                poller.start()
            poller.add(watcher)
        return poller

    def unwatch(self, *, host_id: int, watcher: Watcher) -> None:
        """Remove a watcher; the last one out stops the host's poller."""
        with self._lock:
            poller = self._pollers.get(host_id)
            if poller is not None and poller.remove(watcher) == 0:
                del self._pollers[host_id]
                poller.stop()

    def poller_of(self, host_id: int) -> HostPoller | None:
        with self._lock:
            return self._pollers.get(host_id)


#: The pollers of this process, shared by every top websocket.
pollers = PollerRegistry()
