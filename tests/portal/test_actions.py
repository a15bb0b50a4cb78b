"""Checking and queueing actions on a live resource, with the VM actions the hypervisors app really declares."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied

from hypervisors.choices import VMJobAction, VMState
from hypervisors.vms.actions import ACTIONS, OPERATE_TASK
from portal.actions import ActionRefused, action_check, action_queue, actions_allowed, resource_busy
from portal.choices import JobState, Role
from portal.jobs import job_create
from portal.models import AuditEvent
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(team, member):
    return VirtualMachineFactory(team=team, owner=member, host=HostFactory(name="kvm1"), state=VMState.SHUTOFF)


def check(actor, vm, slug):
    return action_check(actor=actor, actions=ACTIONS, slug=slug, resource=vm, team=vm.team, noun="VM")


def test_an_allowed_action_is_returned(member, vm):
    assert check(member, vm, "start") == ACTIONS["start"]


def test_an_unknown_action_is_refused(member, vm):
    with pytest.raises(ActionRefused, match=re.escape("There is no VM action 'teleport'.")):
        check(member, vm, "teleport")


def test_the_role_is_checked_before_the_state(viewer, outsider, vm):
    for actor in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            check(actor, vm, "shutdown")


def test_an_action_the_state_does_not_allow_is_refused_with_the_state(member, vm):
    with pytest.raises(ActionRefused, match=re.escape("A VM that is shut off cannot be asked to shut down.")):
        check(member, vm, "shutdown")


def test_an_action_is_refused_while_another_job_on_the_resource_runs(member, team, vm):
    job = job_create(action=VMJobAction.VM_RESET, team=team, requested_by=member, target=vm)
    assert resource_busy(vm)
    with pytest.raises(ActionRefused, match="Another operation on this VM is still running"):
        check(member, vm, "start")
    job.state = JobState.SUCCEEDED
    job.save(update_fields=["state"])
    assert not resource_busy(vm)
    check(member, vm, "start")


def test_action_queue_records_the_job_sends_it_after_commit_and_audits(
    member, team, vm, sent, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_HOST_QUEUES = True
    with django_capture_on_commit_callbacks(execute=True):
        job = action_queue(
            actor=member, team=team, resource=vm, action=ACTIONS["start"], task=OPERATE_TASK, audit_prefix="vm"
        )
        assert sent == [], "nothing is sent before the commit"
    assert (job.action, job.state, job.target, job.queue) == (VMJobAction.VM_START, JobState.QUEUED, vm, "host.kvm1")
    assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id), "queue": "host.kvm1"}]
    event = AuditEvent.objects.get(action="vm.start")
    assert (event.actor, event.team, event.target_id) == (member, team, str(vm.pk))


RUN = {"start", "resize", "snapshot-create", "interface-attach", "interface-detach"}
DESTROY = {"delete", "snapshot-revert", "snapshot-delete"}


@pytest.mark.parametrize(
    ("role", "state", "busy", "owner", "offered"),
    [
        (Role.MEMBER, VMState.SHUTOFF, False, False, RUN),
        (Role.MEMBER, VMState.SHUTOFF, False, True, RUN | DESTROY),
        (Role.TEAM_ADMIN, VMState.SHUTOFF, False, False, RUN | DESTROY),
        (Role.MEMBER, VMState.SHUTOFF, True, True, set()),
        (None, VMState.SHUTOFF, False, False, set()),
        (Role.VIEWER, VMState.RUNNING, False, True, set()),
    ],
    ids=["member-shutoff", "owner-shutoff", "team-admin-shutoff", "busy", "no-role", "viewer"],
)  # fmt: skip
def test_actions_allowed_decides_which_buttons_to_offer(role, state, busy, owner, offered):
    """Destructive actions are offered to the resource's owner and team admins only (the rule of portal.actions)."""
    allowed = {
        action.slug
        for action in actions_allowed(
            list(ACTIONS.values()), role=role, state=state, busy=busy, user_id=7, owner_id=7 if owner else 8
        )
    }
    assert allowed == offered
