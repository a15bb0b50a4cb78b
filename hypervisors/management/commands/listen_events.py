"""Follow every host's domain events and store state changes as they happen.

One long-running process (the ``events`` line of the Procfile). It watches each
host, catches up with a reconcile whenever it (re)connects, and retries hosts
that do not answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from hypervisors.drivers import HostUnreachable
from hypervisors.drivers.events import LifecycleWatcher
from hypervisors.hosts import inventory
from hypervisors.models import Host

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Follow libvirt domain events of every host and keep VM states current."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between checks for hosts to watch.")

    def handle(self, *args: Any, **options: Any) -> None:
        watcher = LifecycleWatcher(on_state=self._on_state)
        self.stdout.write("Listening for domain events")
        try:
            while True:
                self._watch_new_hosts(watcher)
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        finally:
            watcher.close()

    def _watch_new_hosts(self, watcher: LifecycleWatcher) -> None:
        close_old_connections()
        watched = watcher.watching()
        for host in Host.objects.all():
            if str(host.pk) in watched:
                continue
            try:
                watcher.watch(str(host.pk), host.uri)
            except HostUnreachable as error:
                logger.info("Host %s does not answer yet: %s", host.name, error)
                continue
            logger.info("Watching host %s", host.name)
            # Events missed while not watching are caught up by one reconcile.
            inventory.host_reconcile(host_id=host.pk)

    @staticmethod
    def _on_state(key: str, uuid: str, state: str) -> None:
        close_old_connections()
        if inventory.vm_state_observed(host_id=int(key), uuid=uuid, state=state):
            logger.info("Domain %s on host %s is now %s", uuid, key, state)
