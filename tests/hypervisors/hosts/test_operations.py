"""Jobs on a host as a whole (probe, reconcile) that administrators ask for: queued as Jobs, run by the operator."""

import pytest
from django.core.exceptions import PermissionDenied

from hypervisors.choices import HostJobAction
from hypervisors.hosts.operations import host_operate
from hypervisors.hosts.services import OPERATE_TASK, host_job_request
from hypervisors.models import Host
from portal.choices import JobState
from portal.models import AuditEvent
from tests.factories import HostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_probe_asked_in_admin_is_a_job_on_the_hosts_queue(staff, settings, sent, django_capture_on_commit_callbacks):
    settings.PORTAL_HOST_QUEUES = True
    host = HostFactory(name="kvm7", uri="qemu+ssh://root@kvm7/system")
    with django_capture_on_commit_callbacks(execute=True):
        job = host_job_request(actor=staff, host_id=host.pk, action=HostJobAction.HOST_PROBE)
    assert job.queue == "host.kvm7", "the queue is chosen once, from the target, and stored on the job"
    assert job.target == host
    assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id), "queue": "host.kvm7"}]
    assert AuditEvent.objects.filter(action="host.host_probe", actor=staff).exists()


def test_only_administrators_who_may_change_hosts_may_ask(member, sent):
    host = HostFactory()
    clerk = UserFactory(username="clerk", is_staff=True)
    for actor in (member, clerk):
        with pytest.raises(PermissionDenied):
            host_job_request(actor=actor, host_id=host.pk, action=HostJobAction.HOST_RECONCILE)
    assert sent == []


def test_probe_job_records_the_facts(libvirt_test_host, staff, sent):
    Host.objects.filter(pk=libvirt_test_host.pk).update(cpus=None, is_reachable=False)
    job = host_job_request(actor=staff, host_id=libvirt_test_host.pk, action=HostJobAction.HOST_PROBE)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert "16 CPUs" in job.log[-1]["message"]
    libvirt_test_host.refresh_from_db()
    assert libvirt_test_host.is_reachable and libvirt_test_host.cpus == 16


def test_reconcile_job_reports_what_it_read(libvirt_test_host, staff, sent):
    job = host_job_request(actor=staff, host_id=libvirt_test_host.pk, action=HostJobAction.HOST_RECONCILE)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert "domains read" in job.log[-1]["message"]


def test_a_host_that_does_not_answer_fails_the_job_with_the_reason(staff, sent):
    host = HostFactory(uri="test:///nonexistent/host-definition.xml")
    job = host_job_request(actor=staff, host_id=host.pk, action=HostJobAction.HOST_PROBE)
    host_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "did not answer" in job.error
    host.refresh_from_db()
    assert host.is_reachable is False
