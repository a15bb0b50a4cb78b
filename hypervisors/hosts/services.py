"""Services on hosts: probing what a host is and can do, and the jobs administrators ask for on a host."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hypervisors.choices import HostJobAction
from hypervisors.drivers import DriverError, driver_for
from hypervisors.models import Host, StorageVolume
from portal.audit import audit_record
from portal.jobs import job_create, job_enqueue
from portal.models import Job

logger = logging.getLogger(__name__)

AnyUser = User | AnonymousUser


def host_probe(*, host_id: int) -> Host:
    """Ask the host what it is and record the answer; an unreachable host is marked so, not raised.

    Runs in workers only: it talks to the host.
    """
    host = Host.objects.get(pk=host_id)
    try:
        with driver_for(host.uri) as driver:
            facts = driver.probe()
    except DriverError as error:
        host.mark_unreachable(error)
    else:
        host.mark_reachable()
        host.hostname = facts.hostname
        if facts.openvswitch is not None:
            host.openvswitch = facts.openvswitch
        host.cpus = facts.cpus
        host.memory_mib = facts.memory_mib
        host.libvirt_version = facts.libvirt_version
        host.hypervisor_version = facts.hypervisor_version
        host.domain_type = facts.domain_types[0] if facts.domain_types else ""
    host.last_probed_at = timezone.now()
    host.save()
    return host


#: The task that runs a job on a host as a whole.
OPERATE_TASK = "hypervisors.tasks.host_operate"


@transaction.atomic
def host_job_request(*, actor: AnyUser, host_id: int, action: str) -> Job:
    """Queue a probe or a reconcile of a host that a person asked for, as a Job they can follow.

    Needs the permission to change hosts. The job goes to the host's own queue
    (``portal.queues``), like every other job on that host.
    """
    if action not in (HostJobAction.HOST_PROBE, HostJobAction.HOST_RECONCILE):
        raise ValidationError(f"There is no host job {action!r}.")
    if not (actor.is_authenticated and actor.has_perm("hypervisors.change_host")):
        raise PermissionDenied("Only administrators who may change hosts may probe or reconcile them.")
    host = Host.objects.get(pk=host_id)
    job = job_create(action=action, team=None, requested_by=actor, target=host)
    job_enqueue(job, OPERATE_TASK)
    audit_record(actor=actor, action=f"host.{HostJobAction(action).name.lower()}", target=host)
    return job


@transaction.atomic
def volume_delete_request(*, actor: AnyUser, volume_id: int) -> Job:
    """Queue the delete of an orphan volume (no VM owns it, no domain uses it), as a Job on its host.

    Staff with the permission to delete volumes only. The row must say orphan now; the worker asks
    the host again right before deleting (``hosts.operations``), since a domain may have taken the
    volume since the last reconcile.
    """
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm("hypervisors.delete_storagevolume")):
        raise PermissionDenied("Only administrators may delete volumes.")
    volume = StorageVolume.objects.select_for_update(of=("self",)).select_related("pool__host").get(pk=volume_id)
    if not volume.orphan:
        raise ValidationError(f"Volume {volume.name} is in use: only orphan volumes may be deleted.")
    host = volume.pool.host
    params: dict[str, object] = {"pool": volume.pool.name, "volume": volume.name, "path": volume.path}
    job = job_create(action=HostJobAction.VOLUME_DELETE, team=None, requested_by=actor, target=host, params=params)
    job_enqueue(job, OPERATE_TASK)
    audit_record(actor=actor, action="volume.delete_request", target=host, detail=f"{volume.pool.name}/{volume.name}")
    return job
