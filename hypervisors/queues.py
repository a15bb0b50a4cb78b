"""Which Celery queue a host's jobs go to.

By default every job goes to the default queue and any worker may run it. With
``PORTAL_HOST_QUEUES`` on, jobs of a host go to the queue ``host.<name>``, so a
worker running next to that host's libvirt (``celery -A portal worker -Q
host.<name>``) does its work over a local connection.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.conf import settings

from hypervisors.models import Host


def host_queue(host: Host | None) -> str | None:
    """The queue for jobs on ``host``; None means the default queue."""
    if host is None or not settings.PORTAL_HOST_QUEUES:
        return None
    return f"host.{host.name}"


def send_to_host(task: Task[Any, Any], args: tuple[Any, ...], host: Host) -> None:
    """Send a task to the queue of ``host``."""
    queue = host_queue(host)
    if queue:
        task.apply_async(args=args, queue=queue)
    else:
        task.apply_async(args=args)
