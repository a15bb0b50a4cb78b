"""Services people call on their VMs: power actions, resize and snapshots are checked and queued, never run here."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hypervisors.choices import VMJobAction, VMState
from hypervisors.models import Snapshot, VirtualMachine
from hypervisors.vms.actions import ACTIONS
from hypervisors.vms.services import (
    OPERATE_TASK,
    ActionRefused,
    vm_action_request,
    vm_locked,
    vm_resize_request,
    vm_snapshot_request,
)
from portal.choices import JobState
from portal.jobs import job_create
from portal.models import AuditEvent, Job
from portal.quotas import QuotaExceeded
from tests.factories import ResourceRequestFactory, VirtualMachineFactory
from tests.support.rows import usage_of

pytestmark = pytest.mark.django_db

POWER_SLUGS = ["start", "shutdown", "power-off", "reboot", "reset", "suspend", "resume", "delete"]
FORM_SLUGS = ["resize", "snapshot-create", "snapshot-revert", "snapshot-delete"]

#: Where each power action may be asked, as the catalogue says (hypervisors/vms/actions.py).
ALLOWED = {
    "start": {"shutoff", "crashed"},
    "shutdown": {"running"},
    "power-off": {"running", "paused"},
    "reboot": {"running"},
    "reset": {"running"},
    "suspend": {"running"},
    "resume": {"paused"},
    "delete": {"running", "paused", "shutoff", "crashed", "missing", "unknown"},
}


def vm_jobs(vm):
    return Job.objects.filter(target_id=str(vm.pk), target_type__model="virtualmachine")


# --- the lock every service takes ---


@pytest.mark.parametrize("placed", [True, False])
def test_vm_lock_works_on_every_database(make_vm, team, placed):
    vm = make_vm(state="running") if placed else VirtualMachineFactory(team=team, host=None, state="shutoff")
    locked = vm_locked(vm.pk)
    assert locked == vm
    assert (locked.team, locked.host) == (team, vm.host)


# --- power actions and the states they are allowed in ---


def test_the_catalogue_is_what_these_tests_assume():
    assert {slug: set(ACTIONS[slug].allowed_states) for slug in POWER_SLUGS} == ALLOWED
    assert all(ACTIONS[slug].has_form for slug in FORM_SLUGS)


@pytest.mark.parametrize("slug", POWER_SLUGS)
@pytest.mark.parametrize("state", [s.value for s in VMState])
def test_power_action_allowed_only_in_its_states(make_vm, member, slug, state, django_capture_on_commit_callbacks):
    vm = make_vm(state=state)
    with django_capture_on_commit_callbacks() as callbacks:
        if state in ALLOWED[slug]:
            job = vm_action_request(actor=member, vm_id=vm.pk, slug=slug)
            assert job.action == ACTIONS[slug].job_action
            assert job.state == JobState.QUEUED
        else:
            with pytest.raises(ActionRefused) as refused:
                vm_action_request(actor=member, vm_id=vm.pk, slug=slug)
            label = ACTIONS[slug].label.lower()
            state_label = VMState(state).label.lower()
            assert refused.value.messages == [f"A VM that is {state_label} cannot be asked to {label}."]
    queued = state in ALLOWED[slug]
    assert vm_jobs(vm).count() == (1 if queued else 0)
    assert len(callbacks) == (1 if queued else 0), "nothing is sent for a refused action"
    assert AuditEvent.objects.filter(action=f"vm.{slug}").exists() is queued


def test_start_on_a_running_vm_is_refused_clearly(make_vm, member, sent, django_capture_on_commit_callbacks):
    vm = make_vm(state="running")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ActionRefused) as refused:
        vm_action_request(actor=member, vm_id=vm.pk, slug="start")
    assert str(refused.value.messages[0]) == "A VM that is running cannot be asked to start."
    assert not vm_jobs(vm).exists()
    assert sent == []


def test_team_admin_may_act(make_vm, team_admin):
    vm = make_vm(state="running")
    job = vm_action_request(actor=team_admin, vm_id=vm.pk, slug="reboot")
    assert job.action == VMJobAction.VM_REBOOT
    assert job.requested_by == team_admin


@pytest.mark.parametrize("who", ["viewer", "outsider"])
@pytest.mark.parametrize("slug", ["start", "shutdown", "delete"])
def test_viewer_and_outsider_are_refused(request, make_vm, who, slug):
    user = request.getfixturevalue(who)
    vm = make_vm(state="shutoff" if slug == "start" else "running")
    with pytest.raises(PermissionDenied):
        vm_action_request(actor=user, vm_id=vm.pk, slug=slug)
    assert not vm_jobs(vm).exists()
    assert not AuditEvent.objects.filter(action=f"vm.{slug}").exists()


def test_viewer_and_outsider_cannot_resize_or_snapshot(make_vm, viewer, outsider):
    vm = make_vm(state="running")
    for user in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            vm_resize_request(actor=user, vm_id=vm.pk, vcpus=2, memory_mib=256)
        with pytest.raises(PermissionDenied):
            vm_snapshot_request(actor=user, vm_id=vm.pk, slug="snapshot-create", name="before")
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    assert not vm_jobs(vm).exists()


@pytest.mark.parametrize("job_state", [JobState.QUEUED, JobState.RUNNING])
def test_second_action_refused_while_a_job_works_on_the_vm(make_vm, member, job_state):
    vm = make_vm(state="running")
    first = vm_action_request(actor=member, vm_id=vm.pk, slug="suspend")
    Job.objects.filter(pk=first.pk).update(state=job_state)
    refusals = [
        lambda: vm_action_request(actor=member, vm_id=vm.pk, slug="reboot"),
        lambda: vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256),
        lambda: vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="s1"),
    ]
    for ask in refusals:
        with pytest.raises(ActionRefused, match="Another operation on this VM is still running"):
            ask()
    assert vm_jobs(vm).count() == 1
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (1, 128)


@pytest.mark.parametrize("job_state", [JobState.SUCCEEDED, JobState.FAILED])
def test_finished_jobs_do_not_block(make_vm, member, job_state):
    vm = make_vm(state="running")
    first = vm_action_request(actor=member, vm_id=vm.pk, slug="suspend")
    Job.objects.filter(pk=first.pk).update(state=job_state)
    assert vm_action_request(actor=member, vm_id=vm.pk, slug="reboot").action == VMJobAction.VM_REBOOT


def test_jobs_of_other_vms_do_not_block(make_vm, member, team):
    vm, other = make_vm(state="running"), make_vm(state="running")
    job_create(action=VMJobAction.VM_REBOOT, team=team, requested_by=member, target=other)
    assert vm_action_request(actor=member, vm_id=vm.pk, slug="reboot").target_id == str(vm.pk)


@pytest.mark.parametrize("slug", ["bogus", "", "START", "provision"])
def test_unknown_slug_refused(make_vm, member, slug):
    vm = make_vm(state="running")
    with pytest.raises(ActionRefused, match="There is no VM action"):
        vm_action_request(actor=member, vm_id=vm.pk, slug=slug)
    assert not vm_jobs(vm).exists()


@pytest.mark.parametrize("slug", FORM_SLUGS)
def test_form_actions_are_refused_as_buttons(make_vm, member, slug):
    vm = make_vm(state="running")
    with pytest.raises(ActionRefused, match="needs its form"):
        vm_action_request(actor=member, vm_id=vm.pk, slug=slug)
    assert not vm_jobs(vm).exists()


# --- the job, its enqueueing and the audit trail ---


def test_job_is_created_and_sent_only_after_commit(make_vm, member, team, sent, django_capture_on_commit_callbacks):
    vm = make_vm(state="running")
    with django_capture_on_commit_callbacks() as callbacks:
        job = vm_action_request(actor=member, vm_id=vm.pk, slug="shutdown")
        assert sent == [], "nothing is sent inside the transaction"
    assert sent == [], "nor before the commit callbacks run"
    assert len(callbacks) == 1

    callbacks[0]()

    job.refresh_from_db()
    assert (job.action, job.state, job.team, job.requested_by) == (
        VMJobAction.VM_SHUTDOWN,
        JobState.QUEUED,
        team,
        member,
    )
    assert job.target == vm
    assert job.params == {}
    assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id)}]


def test_host_queues_route_the_job_to_its_host(make_vm, member, settings, sent, django_capture_on_commit_callbacks):
    settings.PORTAL_HOST_QUEUES = True
    vm = make_vm(state="shutoff")
    with django_capture_on_commit_callbacks(execute=True):
        job = vm_action_request(actor=member, vm_id=vm.pk, slug="start")
    assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id), "queue": "host.kvm1"}]


def test_audit_event_written(make_vm, member, team):
    vm = make_vm(state="running")
    vm_action_request(actor=member, vm_id=vm.pk, slug="power-off")
    event = AuditEvent.objects.get(action="vm.power-off")
    assert (event.actor, event.team, event.target_id, event.target_repr) == (member, team, str(vm.pk), str(vm))


# --- resize ---


def test_resize_queues_a_job_and_the_row_takes_the_new_sizes(
    make_vm, member, team, sent, django_capture_on_commit_callbacks
):
    vm = make_vm(state="running", vcpus=1, memory_mib=128)
    before = usage_of(team).used
    with django_capture_on_commit_callbacks(execute=True):
        job = vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=512)
    assert job.action == VMJobAction.VM_RESIZE
    assert job.params == {"vcpus": 2, "memory_mib": 512, "previous": {"vcpus": 1, "memory_mib": 128}}
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (2, 512)
    after = usage_of(team).used
    assert after.vcpus - before.vcpus == 1, "the quota counts the new sizes while the job runs"
    assert after.memory_mib - before.memory_mib == 384
    assert [call["args"] for call in sent] == [(job.pk,)]
    event = AuditEvent.objects.get(action="vm.resize")
    assert "512" in event.detail


def test_resize_growth_over_quota_is_refused_naming_the_resource(make_vm, member, team):
    vm = make_vm(state="running", vcpus=1, memory_mib=128)
    with pytest.raises(QuotaExceeded) as exceeded:
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=8192)
    assert [s.resource.field for s in exceeded.value.shortfalls] == ["memory_mib"]
    assert str(exceeded.value) == "Memory: over quota by 4096 MiB (asked 8064 MiB, 3968 MiB left)"
    with pytest.raises(QuotaExceeded, match=r"^vCPUs: over quota by 1 "):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=9, memory_mib=128)
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    assert not vm_jobs(vm).exists()


def test_resize_growth_counts_pending_asks(make_vm, member, team):
    vm = make_vm(state="running", vcpus=1, memory_mib=128)
    ResourceRequestFactory(team=team, requested_by=member, name="pending", vcpus=Decimal("7"))
    with pytest.raises(QuotaExceeded, match="vCPUs"):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=128)


def test_resize_shrink_always_fits(make_vm, member, team):
    vm = make_vm(state="running", vcpus=4, memory_mib=2048)
    team.quota.vcpus, team.quota.memory_mib = Decimal("0"), 0  # an admin cut the quota below what runs
    team.quota.save()
    job = vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=1024)
    assert job.params["previous"] == {"vcpus": 4, "memory_mib": 2048}
    vm.refresh_from_db()
    # A shrink counts once the guest gave the resources back (the worker sees to it), not when asked.
    assert (vm.vcpus, vm.memory_mib) == (4, 2048)


def test_resize_shrinking_one_resource_frees_no_room_for_another(make_vm, member, team):
    vm = make_vm(state="running", vcpus=4, memory_mib=4096)  # the team's whole memory
    with pytest.raises(QuotaExceeded, match="Memory"):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=4224)


def test_resize_to_the_same_sizes_is_refused(make_vm, member):
    vm = make_vm(state="running", vcpus=2, memory_mib=256)
    with pytest.raises(ActionRefused, match=r"These are already the VM's sizes\."):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256)
    assert not vm_jobs(vm).exists()


@pytest.mark.parametrize("state", ["building", "missing", "unknown"])
def test_resize_refused_outside_settled_states(make_vm, member, state):
    vm = make_vm(state=state)
    with pytest.raises(ActionRefused, match="cannot be asked to resize"):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256)
    vm.refresh_from_db()
    assert vm.vcpus == 1


# --- snapshots ---


def test_snapshot_create_queues_a_job(make_vm, member):
    vm = make_vm(state="running")
    job = vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="before-upgrade")
    assert (job.action, job.params) == (VMJobAction.VM_SNAPSHOT_CREATE, {"name": "before-upgrade"})
    assert AuditEvent.objects.filter(action="vm.snapshot-create", target_id=str(vm.pk)).exists()
    # The row is written with the ask, so that it counts against the quota while being taken.
    assert Snapshot.objects.get().size_bytes is None, "its size is known once the worker has taken it"


def test_snapshot_duplicate_name_refused(make_vm, member):
    vm = make_vm(state="running")
    Snapshot.objects.create(vm=vm, name="before")
    with pytest.raises(ValidationError) as refused:
        vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="before")
    assert refused.value.message_dict == {"name": ["The VM already has a snapshot named 'before'."]}
    assert not vm_jobs(vm).exists()


def test_same_snapshot_name_on_another_vm_is_fine(make_vm, member):
    vm, other = make_vm(state="running"), make_vm(state="running")
    Snapshot.objects.create(vm=other, name="before")
    assert vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="before").params == {
        "name": "before"
    }


@pytest.mark.parametrize("slug", ["snapshot-revert", "snapshot-delete"])
def test_revert_or_delete_of_unknown_snapshot_refused(make_vm, member, slug):
    vm = make_vm(state="shutoff")
    Snapshot.objects.create(vm=vm, name="known")
    with pytest.raises(ValidationError) as refused:
        vm_snapshot_request(actor=member, vm_id=vm.pk, slug=slug, name="unknown")
    assert refused.value.message_dict == {"name": ["The VM has no snapshot named 'unknown'."]}
    assert not vm_jobs(vm).exists()
    job = vm_snapshot_request(actor=member, vm_id=vm.pk, slug=slug, name="known")
    assert job.params == {"name": "known"}


@pytest.mark.parametrize("slug", ["delete", "power-off", "start", "resize", "bogus"])
def test_snapshot_service_refuses_non_snapshot_actions(make_vm, member, slug):
    vm = make_vm(state="shutoff" if slug == "start" else "running")
    Snapshot.objects.create(vm=vm, name="nightly")
    with pytest.raises(ActionRefused) as refused:
        vm_snapshot_request(actor=member, vm_id=vm.pk, slug=slug, name="nightly")
    assert refused.value.messages == [f"There is no snapshot action {slug!r}."]
    assert not vm_jobs(vm).exists()
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()
