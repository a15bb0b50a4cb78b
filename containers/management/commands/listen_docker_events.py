"""Follow every Docker engine's container events and store state changes as they happen.

One long-running process (the ``docker-events`` line of the Procfile): a thread
per engine reads its event stream, catches up with a reconcile whenever it
(re)connects, and retries engines that do not answer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from containers.drivers import ContainerNotFound, EngineError
from containers.engines import inventory
from containers.engines.services import engine_of
from containers.models import DockerHost

logger = logging.getLogger(__name__)


def follow_engine(docker_host_id: int, stop: threading.Event, retry_seconds: float) -> None:
    """Read one engine's events until ``stop`` is set, reconnecting after failures."""
    while not stop.is_set():
        close_old_connections()
        docker_host = DockerHost.objects.filter(pk=docker_host_id).first()
        if docker_host is None:
            return
        try:
            with engine_of(docker_host) as engine:
                since = int(time.time())
                inventory.docker_host_reconcile(docker_host_id=docker_host_id)
                for event in engine.events(since=since):
                    if stop.is_set():
                        return
                    if event.action.split(":")[0] not in inventory.STATE_EVENTS or not event.engine_id:
                        continue
                    try:
                        state = engine.container_status(event.engine_id).state
                    except ContainerNotFound:
                        state = "missing"
                    close_old_connections()
                    if inventory.container_state_observed(
                        docker_host_id=docker_host_id, engine_id=event.engine_id, state=state
                    ):
                        logger.info("Container %s on %s is now %s", event.engine_id[:12], docker_host.name, state)
        except EngineError as error:
            logger.info("Docker host %s does not answer: %s", docker_host.name, error)
        except Exception:
            logger.exception("Following Docker host %s failed", docker_host.name)
        stop.wait(retry_seconds)


class Command(BaseCommand):
    help = "Follow container events of every Docker engine and keep container states current."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between checks for new engines.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        threads: dict[int, threading.Thread] = {}
        self.stdout.write("Listening for container events")
        try:
            while True:
                close_old_connections()
                for docker_host_id in DockerHost.objects.values_list("pk", flat=True):
                    thread = threads.get(docker_host_id)
                    if thread is None or not thread.is_alive():
                        thread = threading.Thread(
                            target=follow_engine,
                            args=(docker_host_id, stop, options["interval"]),
                            name=f"docker-events-{docker_host_id}",
                            daemon=True,
                        )
                        thread.start()
                        threads[docker_host_id] = thread
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
