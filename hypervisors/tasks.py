"""Celery tasks of the hypervisors app: thin, take ids, call a service.

A host that does not answer is retried with back-off (``portal.retries``); the
last attempt fails the job cleanly.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from hypervisors.hosts import inventory, services
from hypervisors.hosts import operations as host_operations
from hypervisors.models import Host
from hypervisors.networks import operations as network_operations
from hypervisors.networks import provisioning as network_provisioning
from hypervisors.vms import operations as vm_operations
from hypervisors.vms import provisioning as vm_provisioning
from portal.queues import send_to_queue_of
from portal.retries import run_with_retries


@shared_task(bind=True, name="hypervisors.tasks.vm_provision")
def vm_provision(self: Task[Any, Any], job_id: int) -> None:
    """Build the VM of a provisioning job."""
    run_with_retries(self, vm_provisioning.vm_provision, job_id)


@shared_task(bind=True, name="hypervisors.tasks.vm_operate")
def vm_operate(self: Task[Any, Any], job_id: int) -> None:
    """Run a VM action (start, shut down, resize, snapshot, delete...)."""
    run_with_retries(self, vm_operations.vm_operate, job_id)


@shared_task(bind=True, name="hypervisors.tasks.network_provision")
def network_provision(self: Task[Any, Any], job_id: int) -> None:
    """Define and start a team network of a provisioning job."""
    run_with_retries(self, network_provisioning.network_provision, job_id)


@shared_task(bind=True, name="hypervisors.tasks.network_operate")
def network_operate(self: Task[Any, Any], job_id: int) -> None:
    """Start, stop or delete a network."""
    run_with_retries(self, network_operations.network_operate, job_id)


@shared_task(bind=True, name="hypervisors.tasks.host_operate")
def host_operate(self: Task[Any, Any], job_id: int) -> None:
    """Probe or reconcile a host because someone asked (a job they follow)."""
    run_with_retries(self, host_operations.host_operate, job_id)


@shared_task(name="hypervisors.tasks.host_probe")
def host_probe(host_id: int) -> None:
    """Probe one host."""
    services.host_probe(host_id=host_id)


@shared_task(name="hypervisors.tasks.hosts_probe")
def hosts_probe() -> None:
    """Probe every host (periodic), each in its own task so one slow host delays no other."""
    for host in Host.objects.all():
        send_to_queue_of(host_probe, (host.pk,), host)


@shared_task(name="hypervisors.tasks.host_reconcile")
def host_reconcile(host_id: int) -> None:
    """Make the rows of one host agree with what runs on it."""
    inventory.host_reconcile(host_id=host_id)


@shared_task(name="hypervisors.tasks.hosts_reconcile")
def hosts_reconcile() -> None:
    """Reconcile every host (periodic), each in its own task on its own queue."""
    for host in Host.objects.all():
        send_to_queue_of(host_reconcile, (host.pk,), host)
