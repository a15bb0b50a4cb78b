"""Which Celery queue a job goes to: decided in one place, from the job's target.

By default every job goes to the default queue and any worker may run it. A
model whose work must run next to a particular host (a VM, a network, the host
itself) says so with a ``job_queue()`` method; with ``PORTAL_HOST_QUEUES`` on,
hosts answer ``host.<name>``, so a worker next to that host's libvirt (``celery
-A config worker -Q host.<name>``) does the work over a local connection. The
queue is stored on the Job row, so what was chosen can be seen afterwards.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class HasJobQueue(Protocol):
    """A model whose jobs go to a queue of their own."""

    def job_queue(self) -> str | None: ...


def queue_for(target: Any) -> str | None:
    """The queue for jobs on ``target``; None means the default queue."""
    if isinstance(target, HasJobQueue):
        return target.job_queue()
    return None


def send_to_queue_of(task: Any, args: tuple[Any, ...], target: Any) -> None:
    """Send a periodic fan-out task (no job row) to the queue of ``target``."""
    queue = queue_for(target)
    if queue:
        task.apply_async(args=args, queue=queue)
    else:
        task.apply_async(args=args)
