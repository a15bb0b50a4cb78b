"""The skeleton of provisioning jobs, around a real approved VM request: the request's moves, retries, failure
and cleanup, and a job delivered again after its worker died.

The kind's part (load, build, cleanup) is given here as plain functions; what is
under test is what the skeleton does with their results.
"""

from __future__ import annotations

import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.drivers import HostUnreachable
from hypervisors.models import VirtualMachine
from portal.choices import JobState, RequestState
from portal.jobs import RetryLater
from portal.models import Job
from portal.provisioning import Builder, provision_run
from portal.services import request_approve, request_submit
from tests.support.rows import messages, usage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(team, member, staff, image, libvirt_test_host) -> Job:
    """The provisioning job of an approved ask for a VM, as the worker receives it."""
    request = request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name="web",
        vcpus=1,
        memory_mib=128,
        disk_gib=1,
        justification="needed",
        spec={"image_id": image.pk},
    )
    return request_approve(actor=staff, request_id=request.pk, reason="ok")


def builder(build, cleaned=None):
    """A builder for VMs whose build is ``build``; cleanups are recorded in ``cleaned``."""
    return Builder(
        load=lambda job: VirtualMachine.objects.filter(request_id=job.request_id).first(),
        build=build,
        cleanup=lambda job, vm: cleaned.append(vm.pk) if cleaned is not None else None,
        unreachable=(HostUnreachable,),
    )


def unreachable(job, vm):
    raise HostUnreachable("connection refused")


def request_state(job) -> str:
    job.request.refresh_from_db()
    return job.request.state


def test_a_build_fulfils_the_request_and_ends_the_job_with_its_message(job, team):
    provision_run(builder(lambda job, vm: f"{vm.name} is running"), job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert (job.state, request_state(job)) == (JobState.SUCCEEDED, RequestState.FULFILLED)
    assert "Checking the team's quota" in messages(job)
    assert messages(job)[-1] == "web is running"
    assert usage_of(team).used.vm_count == 1


def test_an_unreachable_host_is_retried_while_attempts_remain(job):
    with pytest.raises(RetryLater):
        provision_run(builder(unreachable), job_id=job.pk, final_attempt=False)
    job.refresh_from_db()
    assert (job.state, request_state(job)) == (JobState.RUNNING, RequestState.PROVISIONING)
    assert messages(job)[-1] == "The host did not answer (connection refused); trying again later"


@pytest.mark.parametrize("final_attempt", [True, False])
def test_a_failed_build_is_cleaned_up_and_frees_the_quota(job, team, final_attempt):
    def broken(job, vm):
        if final_attempt:
            raise HostUnreachable("connection refused")
        raise ValueError("no such image")

    cleaned = []
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    provision_run(builder(broken, cleaned), job_id=job.pk, final_attempt=final_attempt)
    job.refresh_from_db()
    assert (job.state, request_state(job)) == (JobState.FAILED, RequestState.FAILED)
    assert cleaned == [vm.pk]
    assert ("connection refused" if final_attempt else "no such image") in job.request.failure_reason
    usage = usage_of(team)
    assert (usage.used.vm_count, usage.reserved.vm_count) == (0, 0)


def test_a_finished_job_is_not_built_again(job):
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    built = []
    provision_run(builder(lambda job, vm: built.append(vm) or "again"), job_id=job.pk, final_attempt=True)
    assert built == []


def test_a_redelivered_job_whose_build_had_finished_only_closes_the_job(job):
    provision_run(builder(lambda job, vm: "built"), job_id=job.pk, final_attempt=True)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)  # the worker died before the job row was closed
    built = []
    provision_run(builder(lambda job, vm: built.append(vm) or "again"), job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert (built, job.state) == ([], JobState.SUCCEEDED)
    assert messages(job)[-1] == "Built by an earlier, interrupted run"


def test_a_redelivered_job_whose_resource_was_removed_fails_with_the_reason(job):
    VirtualMachine.objects.filter(request_id=job.request_id).delete()
    provision_run(builder(lambda job, vm: "never"), job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert (job.state, request_state(job)) == (JobState.FAILED, RequestState.FAILED)
    assert "removed by an earlier, interrupted run" in job.error
