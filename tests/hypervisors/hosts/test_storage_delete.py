"""The guarded delete of an orphan volume: asked by staff only, queued as a job on the host, and checked
again in the worker right before the delete (test:///default hypervisor)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hypervisors.hosts.inventory import host_reconcile
from hypervisors.hosts.operations import host_operate
from hypervisors.hosts.services import OPERATE_TASK, volume_delete_request
from hypervisors.models import StorageVolume
from portal.choices import AuditResult, JobState
from portal.models import AuditEvent, Job
from tests.factories import UserFactory, VirtualMachineFactory
from tests.hypervisors.hosts.test_storage import domain_define
from tests.support.libvirt_test import POOL, volume_create, volumes

pytestmark = pytest.mark.django_db


def orphan(host, conn, name="stray.img") -> StorageVolume:
    volume_create(conn, name, 1024**2)
    host_reconcile(host_id=host.pk)
    volume = StorageVolume.objects.get(pool__host=host, name=name)
    assert volume.orphan
    return volume


def test_staff_deletes_an_orphan_through_a_job_on_the_hosts_queue(host, conn, staff, sent):
    volume = orphan(host, conn)
    job = volume_delete_request(actor=staff, volume_id=volume.pk)
    assert (job.target, job.params["pool"], job.params["volume"]) == (host, POOL, "stray.img")
    assert AuditEvent.objects.filter(action="volume.delete_request", actor=staff).exists()
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert "stray.img" not in volumes(conn)
    assert not StorageVolume.objects.filter(pk=volume.pk).exists()
    assert AuditEvent.objects.filter(action="volume.delete", result=AuditResult.SUCCESS, actor=staff).exists()


def test_sent_after_commit_to_the_operate_task(host, conn, staff, sent, django_capture_on_commit_callbacks):
    volume = orphan(host, conn)
    with django_capture_on_commit_callbacks(execute=True):
        job = volume_delete_request(actor=staff, volume_id=volume.pk)
    assert [call["task"] for call in sent] == [OPERATE_TASK]
    assert sent[0]["args"] == (job.pk,)


def test_the_worker_refuses_a_volume_a_domain_took_since_the_reconcile(host, conn, staff, sent):
    volume = orphan(host, conn)
    job = volume_delete_request(actor=staff, volume_id=volume.pk)
    domain_define("latecomer", volume.path)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "latecomer" in job.error
    assert "stray.img" in volumes(conn)
    volume.refresh_from_db()
    assert not volume.orphan
    assert AuditEvent.objects.filter(action="volume.delete", result=AuditResult.FAILURE).exists()


def test_the_worker_refuses_the_disk_of_a_vm_still_being_built(host, conn, staff, team, sent):
    volume = orphan(host, conn)
    vm = VirtualMachineFactory(team=team, host=host, name="late", state="building")
    volume_create(conn, vm.volume_name, 1024**2)
    StorageVolume.objects.create(
        pool=volume.pool, name=vm.volume_name, path="/x", capacity=1, allocation=0, orphan=True
    )
    job = volume_delete_request(actor=staff, volume_id=StorageVolume.objects.get(name=vm.volume_name).pk)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert vm.volume_name in volumes(conn)


def test_an_already_gone_volume_is_success(host, conn, staff, sent):
    volume = orphan(host, conn)
    job = volume_delete_request(actor=staff, volume_id=volume.pk)
    conn.storagePoolLookupByName(POOL).storageVolLookupByName("stray.img").delete(0)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert "already gone" in job.log[-1]["message"]


def test_only_staff_who_may_delete_volumes_may_ask(host, conn, member, sent):
    volume = orphan(host, conn)
    clerk = UserFactory(username="clerk", is_staff=True)
    for actor in (member, clerk):
        with pytest.raises(PermissionDenied):
            volume_delete_request(actor=actor, volume_id=volume.pk)
    assert not Job.objects.exists()


def test_a_volume_in_use_is_refused_at_the_ask(host, conn, staff, team, sent):
    vm = VirtualMachineFactory(team=team, host=host, name="web")
    volume_create(conn, vm.volume_name, 1024**2)
    host_reconcile(host_id=host.pk)
    volume = StorageVolume.objects.get(name=vm.volume_name)
    with pytest.raises(ValidationError, match="in use"):
        volume_delete_request(actor=staff, volume_id=volume.pk)
    assert not Job.objects.exists()
