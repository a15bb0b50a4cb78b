"""Jobs on a Docker engine as a whole (probe, reconcile) that administrators ask for: Jobs run by the operator."""

import pytest
from django.core.exceptions import PermissionDenied

from containers.choices import EngineJobAction
from containers.engines.operations import engine_operate
from containers.engines.services import OPERATE_TASK, engine_job_request
from portal.choices import JobState
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_probe_asked_in_admin_is_a_job(staff, docker_host, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = engine_job_request(actor=staff, docker_host_id=docker_host.pk, action=EngineJobAction.ENGINE_PROBE)
    assert job.target == docker_host
    assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id)}]
    assert AuditEvent.objects.filter(action="engine.engine_probe", actor=staff).exists()


def test_members_may_not_ask(member, docker_host, sent):
    with pytest.raises(PermissionDenied):
        engine_job_request(actor=member, docker_host_id=docker_host.pk, action=EngineJobAction.ENGINE_RECONCILE)
    assert sent == []


def test_an_engine_that_does_not_answer_fails_the_job_with_the_reason(staff, docker_host, sent):
    job = engine_job_request(actor=staff, docker_host_id=docker_host.pk, action=EngineJobAction.ENGINE_RECONCILE)
    engine_operate(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "did not answer" in job.error
    docker_host.refresh_from_db()
    assert docker_host.is_reachable is False


def test_probe_and_reconcile_jobs_on_the_real_engine(staff, local_engine, sent):
    for action, says in ((EngineJobAction.ENGINE_PROBE, "answers: Docker"), (EngineJobAction.ENGINE_RECONCILE, "read")):
        job = engine_job_request(actor=staff, docker_host_id=local_engine.pk, action=action)
        engine_operate(job_id=job.pk)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED, job.error
        assert says in job.log[-1]["message"]
