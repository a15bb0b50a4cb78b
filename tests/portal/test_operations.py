"""The skeleton of jobs on a live resource, around a real VM row and job: success, retries, failure, a gone resource.

The kind's part (load, operate, undo) is given here as plain functions; what is
under test is what the skeleton does with their results.
"""

from __future__ import annotations

import pytest

from hypervisors.choices import VMJobAction
from hypervisors.drivers import HostUnreachable
from hypervisors.models import VirtualMachine
from portal.choices import JobState
from portal.jobs import RetryLater, job_create
from portal.operations import Operator, operate_run
from tests.factories import VirtualMachineFactory
from tests.support.rows import messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(team, member):
    return VirtualMachineFactory(team=team, owner=member, name="web")


def job_on(vm, member, action=VMJobAction.VM_START):
    return job_create(action=action, team=vm.team, requested_by=member, target=vm)


def operator(operate, undone=None):
    """An operator for VMs whose operation is ``operate``; undos are recorded in ``undone``."""
    return Operator(
        load=lambda job: VirtualMachine.objects.filter(pk=job.target_id).first(),
        operate=operate,
        unreachable=(HostUnreachable,),
        noun="VM",
        where=lambda vm: f"Host of {vm.name}",
        delete_action=VMJobAction.VM_DELETE,
        undo=(lambda job, vm: undone.append(vm.pk)) if undone is not None else None,
    )


def unreachable(job, vm):
    raise HostUnreachable("connection refused")


def test_a_successful_operation_ends_the_job_with_its_message(vm, member):
    job = job_on(vm, member)
    operate_run(operator(lambda job, vm: f"{vm.name} started"), job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert (job.state, job.progress) == (JobState.SUCCEEDED, 100)
    assert messages(job)[-1] == "web started"
    assert job.started_at and job.finished_at


def test_a_finished_job_is_not_run_again(vm, member):
    job = job_on(vm, member)
    job.state = JobState.SUCCEEDED
    job.save(update_fields=["state"])
    ran = []
    operate_run(operator(lambda job, vm: ran.append(vm) or "again"), job_id=job.pk, final_attempt=True)
    assert ran == []


def test_an_unreachable_host_is_retried_while_attempts_remain(vm, member):
    job = job_on(vm, member)
    with pytest.raises(RetryLater):
        operate_run(operator(unreachable), job_id=job.pk, final_attempt=False)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert messages(job)[-1] == "Host of web did not answer (connection refused); trying again later"


def test_the_last_attempt_fails_the_job_and_undoes_its_changes(vm, member):
    job, undone = job_on(vm, member), []
    operate_run(operator(unreachable, undone), job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "connection refused" in job.error
    assert undone == [vm.pk]


def test_any_other_error_fails_the_job_with_its_reason(vm, member):
    def broken(job, vm):
        raise ValueError("the disk is full")

    job, undone = job_on(vm, member), []
    operate_run(operator(broken, undone), job_id=job.pk, final_attempt=False)
    job.refresh_from_db()
    assert (job.state, undone) == (JobState.FAILED, [vm.pk])
    assert "the disk is full" in job.error


def test_a_resource_gone_fails_the_job_unless_it_was_being_deleted(vm, member):
    start, delete = job_on(vm, member), job_on(vm, member, VMJobAction.VM_DELETE)
    vm.delete()
    for job in (start, delete):
        operate_run(operator(lambda job, vm: "never"), job_id=job.pk, final_attempt=True)
        job.refresh_from_db()
    assert (start.state, start.error) == (JobState.FAILED, "The VM no longer exists.")
    assert delete.state == JobState.SUCCEEDED
    assert messages(delete)[-1] == "The VM was deleted by an earlier, interrupted run"
