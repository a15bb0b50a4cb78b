"""Celery tasks of the hypervisors app: thin, take ids, call a service.

A host that does not answer is retried with exponential back-off
(``PORTAL_RETRY_BASE_SECONDS`` doubling, ``PORTAL_RETRY_LIMIT`` times); the last
attempt fails the job cleanly.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from hypervisors import inventory, operations, provisioning, services
from hypervisors.models import Host
from hypervisors.queues import send_to_host
from portal.jobs import RetryLater


def _backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``."""
    return int(settings.PORTAL_RETRY_BASE_SECONDS * 2**retries)


def _run_with_retries(task: Task[Any, Any], work: Any, job_id: int) -> None:
    final = task.request.retries >= settings.PORTAL_RETRY_LIMIT
    try:
        work(job_id=job_id, final_attempt=final)
    except RetryLater as exc:
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries), max_retries=None) from exc


@shared_task(bind=True, name="hypervisors.tasks.vm_provision")
def vm_provision(self: Task[Any, Any], job_id: int) -> None:
    """Build the VM of a provisioning job."""
    _run_with_retries(self, provisioning.vm_provision, job_id)


@shared_task(bind=True, name="hypervisors.tasks.vm_operate")
def vm_operate(self: Task[Any, Any], job_id: int) -> None:
    """Run a VM action (start, shut down, resize, snapshot, delete...)."""
    _run_with_retries(self, operations.vm_operate, job_id)


@shared_task(name="hypervisors.tasks.host_probe")
def host_probe(host_id: int) -> None:
    """Probe one host."""
    services.host_probe(host_id=host_id)


@shared_task(name="hypervisors.tasks.hosts_probe")
def hosts_probe() -> None:
    """Probe every host (periodic), each in its own task so one slow host delays no other."""
    for host in Host.objects.all():
        send_to_host(host_probe, (host.pk,), host)


@shared_task(name="hypervisors.tasks.host_reconcile")
def host_reconcile(host_id: int) -> None:
    """Make the rows of one host agree with what runs on it."""
    inventory.host_reconcile(host_id=host_id)


@shared_task(name="hypervisors.tasks.hosts_reconcile")
def hosts_reconcile() -> None:
    """Reconcile every host (periodic), each in its own task on its own queue."""
    for host in Host.objects.all():
        send_to_host(host_reconcile, (host.pk,), host)
