"""Jobs: the row a worker writes its progress into, and the task sent only after commit."""

import logging

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from config.celery import app as celery_app
from hypervisors.choices import HostJobAction, HypervisorKind, VMJobAction
from portal.choices import JobState
from portal.jobs import ERROR_LIMIT, job_create, job_enqueue, job_fail, job_start, job_step, job_succeed
from portal.models import Job
from portal.services import request_approve, request_submit
from tests.factories import HostFactory
from tests.support.rows import messages

pytestmark = pytest.mark.django_db

TASK = "hypervisors.tasks.vm_provision"


@pytest.fixture
def sent(monkeypatch):
    """Record what the provisioning task would send to the broker, instead of reaching Redis."""
    calls = []
    task = celery_app.tasks[TASK]

    def record(args=None, kwargs=None, **options):
        calls.append({"args": args, **options})

    monkeypatch.setattr(task, "apply_async", record)
    return calls


def new_job(team=None, user=None, target=None):
    return job_create(action=HostJobAction.HOST_PROBE, team=team, requested_by=user, target=target)


def test_job_create_is_queued_with_its_target(team, member):
    host = HostFactory()
    job = new_job(team=team, user=member, target=host)
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert job.progress == 0
    assert messages(job) == ["Queued"]
    assert job.log[0]["time"]
    assert job.team == team
    assert job.requested_by == member
    assert job.target_type == ContentType.objects.get_for_model(host)
    assert job.target == host
    assert job.celery_task_id is not None
    assert not job.is_finished


def test_job_create_without_user_or_target():
    job = new_job(user=AnonymousUser())
    assert job.requested_by is None
    assert job.target_type is None
    assert job.target_id == ""
    assert new_job().celery_task_id != job.celery_task_id


def test_job_start_marks_running_and_notes_a_restart():
    job = new_job()
    started = job_start(job.pk)
    assert started.state == JobState.RUNNING
    assert started.started_at is not None
    assert messages(started) == ["Queued"]

    again = job_start(job.pk)  # a redelivered task: the worker died while running
    again.refresh_from_db()
    assert again.state == JobState.RUNNING
    assert again.started_at == started.started_at, "the first start time is kept"
    assert messages(again) == ["Queued", "Restarted after an interrupted run"]


def test_job_step_logs_and_clamps_progress():
    job = job_start(new_job().pk)
    job_step(job, "Halfway", 50)
    job.refresh_from_db()
    assert job.progress == 50
    assert messages(job)[-1] == "Halfway"

    job_step(job, "Too far", 150)
    job.refresh_from_db()
    assert job.progress == 100

    job_step(job, "Backwards", -20)
    job.refresh_from_db()
    assert job.progress == 0
    assert messages(job) == ["Queued", "Halfway", "Too far", "Backwards"]


def test_job_succeed():
    job = job_start(new_job().pk)
    job_step(job, "Working", 40)
    job_succeed(job, "All built")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.progress == 100
    assert job.finished_at is not None
    assert messages(job)[-1] == "All built"
    assert job.error == ""
    assert job.is_finished


def test_job_fail_with_text_keeps_progress():
    job = job_start(new_job().pk)
    job_step(job, "Working", 40)
    job_fail(job, "The host said no")
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "The host said no"
    assert job.progress == 40
    assert job.finished_at is not None
    assert messages(job)[-1] == "Failed: The host said no"
    assert job.is_finished


def test_job_fail_with_exception_logs_traceback_not_on_page(caplog):
    job = job_start(new_job().pk)
    try:
        raise ValueError("disk full")
    except ValueError as error:
        with caplog.at_level(logging.ERROR, logger="portal.jobs"):
            job_fail(job, error)
    job.refresh_from_db()
    assert job.error == "disk full"
    assert "Traceback" not in job.error
    assert f"Job {job.pk} failed" in caplog.text
    assert "Traceback" in caplog.text
    assert "ValueError: disk full" in caplog.text


def test_job_fail_with_silent_exception_names_its_class():
    job = job_start(new_job().pk)
    job_fail(job, TimeoutError())
    job.refresh_from_db()
    assert job.error == "TimeoutError"
    assert messages(job)[-1] == "Failed: TimeoutError"


def test_job_fail_truncates_a_long_error():
    job = job_start(new_job().pk)
    job_fail(job, "x" * (ERROR_LIMIT + 500))
    job.refresh_from_db()
    assert len(job.error) == ERROR_LIMIT


# -- enqueue after commit ------------------------------------------------------------------------


def test_job_enqueue_sends_only_on_commit_with_the_jobs_task_id(sent, django_capture_on_commit_callbacks):
    job = new_job()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job_enqueue(job, TASK)
        assert sent == [], "nothing is sent before the transaction commits"
    assert len(callbacks) == 1
    assert sent == [{"args": (job.pk,), "task_id": str(job.celery_task_id)}]


def test_job_enqueue_on_a_queue(sent, django_capture_on_commit_callbacks):
    job = new_job()
    job.queue = "host-7"  # chosen at creation from the target (portal.queues)
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(job, TASK)
    assert sent == [{"args": (job.pk,), "task_id": str(job.celery_task_id), "queue": "host-7"}]


def test_job_enqueue_rolled_back_sends_nothing(sent, django_capture_on_commit_callbacks):
    job = new_job()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        job_enqueue(job, TASK)
        raise RuntimeError("the surrounding write failed")
    assert callbacks == []
    assert sent == []


def test_approval_enqueues_its_provisioning_job_once(team, member, staff, sent, django_capture_on_commit_callbacks):
    request = request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name="web",
        vcpus=1,
        memory_mib=128,
        disk_gib=1,
        justification="needed",
        spec={},
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = request_approve(actor=staff, request_id=request.pk)
    assert job.action == VMJobAction.VM_PROVISION
    assert job.request_id == request.pk
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
    assert sent == [{"args": (job.pk,), "task_id": str(job.celery_task_id)}]


def test_job_fail_keeps_the_traceback_in_the_row_for_administrators():
    job = job_start(new_job().pk)
    try:
        raise ValueError("disk pool is full")
    except ValueError as error:
        job_fail(job, error)
    job.refresh_from_db()
    assert job.error == "disk pool is full"
    assert "Traceback (most recent call last)" in job.traceback
    assert "ValueError: disk pool is full" in job.traceback


def test_job_create_refuses_an_action_no_app_registered():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        job_create(action="teleport", team=None, requested_by=None, target=None)


def test_job_steps_are_times_for_templates_to_show_in_local_time():
    job = new_job()
    (step,) = job.steps
    assert step["message"] == "Queued"
    assert step["time"] is not None and step["time"].tzinfo is not None
