"""Asks approved at submission by a policy: the same approval as an administrator's, audited under the policy."""

from decimal import Decimal

import pytest

from containers.choices import ContainerKind
from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import AuditResult, JobState, RequestState
from portal.models import AuditEvent, Job
from portal.quotas import QuotaExceeded
from portal.services import request_submit
from tests.factories import (
    AutoApprovalPolicyFactory,
    ContainerImageFactory,
    DockerHostFactory,
    TeamFactory,
    VirtualNetworkFactory,
)

pytestmark = pytest.mark.django_db


def submit(actor, team, name="web", vcpus=1, memory_mib=128, disk_gib=1, spec=None, kind=HypervisorKind.VM):
    return request_submit(
        actor=actor, team=team, kind=kind, name=name, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib,
        justification="needed", spec=spec if spec is not None else {},
    )  # fmt: skip


def test_an_ask_in_policy_is_approved_at_once_and_its_job_sent_after_commit(
    team, member, image, sent, django_capture_on_commit_callbacks
):
    policy = AutoApprovalPolicyFactory(name="small-vms", max_vcpus=Decimal(1), images=[f"vm:{image.pk}"])
    with django_capture_on_commit_callbacks() as callbacks:
        request = submit(member, team, spec={"image_id": image.pk})
        job = Job.objects.get(request=request)
        assert sent == [], "nothing reaches the broker before the submission commits"
    for callback in callbacks:
        callback()

    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.approval_policy == policy
    assert request.decided_by is None
    assert request.decision_reason == "approved by policy small-vms"
    assert job.state == JobState.QUEUED
    assert job.requested_by == member, "the job is the asker's: no person decided"
    assert job.target == VirtualMachine.objects.get(request=request)
    assert [call["args"] for call in sent] == [(job.pk,)]


def test_the_audit_names_the_policy_as_the_decider(team, member):
    AutoApprovalPolicyFactory(name="small-vms")
    request = submit(member, team)
    approval = AuditEvent.objects.get(action="request.approve", target_id=str(request.pk))
    assert approval.actor is None
    assert approval.actor_label == "policy small-vms"
    assert approval.actor_shown == "policy small-vms"
    assert approval.detail == "approved by policy small-vms"
    assert approval.result == AuditResult.SUCCESS
    submitted = AuditEvent.objects.get(action="request.submit", target_id=str(request.pk))
    assert submitted.actor == member


@pytest.mark.parametrize(
    ("policy_fields", "ask"),
    [
        pytest.param({"kinds": [ContainerKind.CONTAINER.value]}, {}, id="kind"),
        pytest.param({"max_vcpus": Decimal(1)}, {"vcpus": 2}, id="vcpus"),
        pytest.param({"max_memory_mib": 64}, {"memory_mib": 128}, id="memory"),
        pytest.param({"max_disk_gib": 1}, {"disk_gib": 2}, id="disk"),
        pytest.param({"images": ["vm:999"]}, {"spec": {"image_id": 1}}, id="image"),
        pytest.param({"networks": ["vm:999"]}, {"spec": {"network_ids": [1]}}, id="network"),
        pytest.param({"max_lease_days": 3}, {"spec": {"lease_days": 4}}, id="lease"),
        pytest.param({"enabled": False}, {}, id="disabled"),
    ],
)
def test_an_ask_outside_the_policy_waits_for_an_administrator(team, member, sent, policy_fields, ask):
    AutoApprovalPolicyFactory(**policy_fields)
    request = submit(member, team, **ask)
    assert request.state == RequestState.PENDING
    assert request.approval_policy is None
    assert not Job.objects.exists()
    assert not VirtualMachine.objects.exists()


def test_a_policy_of_another_team_does_not_apply(team, member):
    AutoApprovalPolicyFactory(team=TeamFactory())
    assert submit(member, team).state == RequestState.PENDING


def test_the_teams_own_policy_beats_the_global_one(team, member):
    AutoApprovalPolicyFactory(name="a-global")
    AutoApprovalPolicyFactory(name="z-blue", team=team)
    assert submit(member, team).approval_policy.name == "z-blue"


def test_the_global_policy_serves_when_the_teams_own_does_not_cover_the_ask(team, member):
    AutoApprovalPolicyFactory(name="blue-tiny", team=team, max_memory_mib=64)
    AutoApprovalPolicyFactory(name="global")
    assert submit(member, team, memory_mib=128).approval_policy.name == "global"


def test_a_network_on_the_list_passes(team, member):
    network = VirtualNetworkFactory(team=team)
    AutoApprovalPolicyFactory(networks=[f"vm:{network.pk}"])
    assert submit(member, team, spec={"network_ids": [network.pk]}).state == RequestState.APPROVED


def test_the_daily_limit_of_one_person_sends_further_asks_to_an_administrator(team, member, team_admin):
    AutoApprovalPolicyFactory(max_asks_per_user_per_day=2)
    states = [submit(member, team, name=f"vm{i}").state for i in range(3)]
    assert states == [RequestState.APPROVED, RequestState.APPROVED, RequestState.PENDING]
    assert submit(team_admin, team, name="theirs").state == RequestState.APPROVED, "the limit is per person"


def test_a_policy_never_approves_past_the_quota(team, member):
    AutoApprovalPolicyFactory()
    team.quota.vm_count = 1
    team.quota.save()
    submit(member, team, name="first")
    with pytest.raises(QuotaExceeded):
        submit(member, team, name="second")
    assert VirtualMachine.objects.count() == 1
    assert Job.objects.count() == 1


def test_an_ask_whose_resource_cannot_be_made_now_stays_pending(team, member):
    """The engine of the image takes no new containers: the ask keeps its place in line, the refusal is audited."""
    image = ContainerImageFactory(docker_host=DockerHostFactory(accepts_new_containers=False))
    AutoApprovalPolicyFactory(name="containers", kinds=[ContainerKind.CONTAINER.value])
    spec = {"image_id": image.pk, "docker_host_id": image.docker_host_id}
    request = submit(member, team, kind=ContainerKind.CONTAINER, vcpus=Decimal("0.5"), disk_gib=0, spec=spec)
    assert request.state == RequestState.PENDING
    assert not Job.objects.exists()
    refusal = AuditEvent.objects.get(action="request.approve")
    assert (refusal.actor_label, refusal.result) == ("policy containers", AuditResult.FAILURE)
    assert "maintenance" in refusal.detail
