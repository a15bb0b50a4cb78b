"""Celery tasks of the hypervisors app: thin, take ids, call a service."""

from celery import shared_task

from hypervisors import provisioning, services
from hypervisors.models import Host


@shared_task(name="hypervisors.tasks.vm_provision")
def vm_provision(job_id: int) -> None:
    """Build the VM of a provisioning job."""
    provisioning.vm_provision(job_id=job_id)


@shared_task(name="hypervisors.tasks.host_probe")
def host_probe(host_id: int) -> None:
    """Probe one host."""
    services.host_probe(host_id=host_id)


@shared_task(name="hypervisors.tasks.hosts_probe")
def hosts_probe() -> None:
    """Probe every host (periodic), each in its own task so one slow host delays no other."""
    for host_id in Host.objects.values_list("pk", flat=True):
        host_probe.delay(host_id)
