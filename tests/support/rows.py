"""Rows as the portal leaves them, and what tests read back from rows: usage, job messages."""

from __future__ import annotations

from hypervisors.choices import VMJobAction
from portal.choices import JobState, RequestState
from portal.jobs import job_create
from portal.models import Job, Team
from portal.quotas import teams_usage
from tests.factories import ResourceRequestFactory, VirtualMachineFactory


def usage_of(team: Team):
    """The team's quota usage, counted from rows as the quota check counts it."""
    team = Team.objects.select_related("quota").get(pk=team.pk)
    return teams_usage([team])[team.pk]


def messages(job: Job) -> list[str]:
    """The messages of a job's step log, oldest first."""
    return [entry["message"] for entry in job.log]


def vm_with_job(team, owner, *, state="running", job_state=JobState.SUCCEEDED, name=None, host=None, image=None):
    """A VM built through a fulfilled request, with its provisioning job, as approval and the worker leave them."""
    request = ResourceRequestFactory(
        team=team, requested_by=owner, state=RequestState.FULFILLED, **({"name": name} if name else {})
    )
    vm = VirtualMachineFactory(
        team=team, owner=owner, request=request, name=request.name, state=state, host=host, image=image
    )
    job = job_create(action=VMJobAction.VM_PROVISION, team=team, requested_by=owner, target=vm, request=request)
    job.state = job_state
    job.save(update_fields=["state"])
    return vm, job
