"""How many times a job's row is written: the first step with the start, steps with no work between in one write."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hypervisors.choices import HostJobAction
from portal.choices import JobState
from portal.jobs import job_create, job_start, job_step
from portal.models import Job

pytestmark = pytest.mark.django_db


def updates(captured) -> int:
    return sum(1 for query in captured.captured_queries if query["sql"].startswith("UPDATE"))


def test_start_with_first_step_is_one_write_and_takes_a_loaded_row():
    job = job_create(action=HostJobAction.HOST_PROBE, team=None, requested_by=None, target=None)
    loaded = Job.objects.get(pk=job.pk)
    with CaptureQueriesContext(connection) as captured:
        started = job_start(loaded, first_step=("Checking", 5))
    assert len(captured.captured_queries) == 1 and updates(captured) == 1
    stored = Job.objects.get(pk=job.pk)
    assert started is loaded
    assert (stored.state, stored.progress) == (JobState.RUNNING, 5)
    assert [entry["message"] for entry in stored.log] == ["Queued", "Checking"]


def test_a_step_kept_in_memory_is_saved_with_the_next():
    job = job_start(job_create(action=HostJobAction.HOST_PROBE, team=None, requested_by=None, target=None).pk)
    with CaptureQueriesContext(connection) as captured:
        job_step(job, "Placed", 15, save=False)
    assert updates(captured) == 0
    assert Job.objects.get(pk=job.pk).progress == 0
    job_step(job, "Preparing", 25)
    stored = Job.objects.get(pk=job.pk)
    assert [entry["message"] for entry in stored.log][-2:] == ["Placed", "Preparing"]
    assert stored.progress == 25
