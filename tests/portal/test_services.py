"""Request services: moves, guards, roles, quota and audit."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import AuditResult, JobState, RequestState
from portal.models import AuditEvent, Job
from portal.quotas import QuotaExceeded
from portal.services import (
    InvalidTransition,
    request_approve,
    request_cancel,
    request_fail,
    request_fulfill,
    request_provisioning_start,
    request_reject,
    request_submit,
)
from tests.factories import ResourceRequestFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


def submit(actor, team, name="web", vcpus=1, memory_mib=128, disk_gib=1, image=None):
    return request_submit(
        actor=actor,
        team=team,
        kind=HypervisorKind.VM,
        name=name,
        vcpus=vcpus,
        memory_mib=memory_mib,
        disk_gib=disk_gib,
        justification="needed",
        spec={"image_id": image.pk if image else None},
    )


def test_member_submits_and_it_is_audited(team, member):
    request = submit(member, team)
    assert request.state == RequestState.PENDING
    assert request.requested_by == member
    assert AuditEvent.objects.filter(action="request.submit", target_id=str(request.pk)).exists()


def test_viewer_cannot_submit(team, viewer):
    with pytest.raises(PermissionDenied):
        submit(viewer, team)
    assert not team.requests.exists()


def test_outsider_cannot_submit(team, outsider):
    with pytest.raises(PermissionDenied):
        submit(outsider, team)


def test_submit_over_quota_names_resource_and_amount(team, member):
    team.quota.memory_mib = 512
    team.quota.save()
    submit(member, team, name="a", memory_mib=384)
    with pytest.raises(QuotaExceeded) as caught:
        submit(member, team, name="b", memory_mib=256)
    assert "Memory: over quota by 128 MiB" in str(caught.value)
    assert team.requests.count() == 1


def test_name_taken_by_pending_request_or_vm(team, member):
    submit(member, team, name="web")
    with pytest.raises(ValidationError):
        submit(member, team, name="web")
    VirtualMachineFactory(team=team, name="db")
    with pytest.raises(ValidationError):
        submit(member, team, name="db")


def test_approve_creates_vm_and_queued_job(team, member, staff, image, django_capture_on_commit_callbacks):
    request = submit(member, team, image=image)
    with django_capture_on_commit_callbacks() as callbacks:
        job = request_approve(actor=staff, request_id=request.pk, reason="ok")
    assert len(callbacks) == 1, "the provisioning task is sent only after commit"
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.decided_by == staff
    assert job.state == JobState.QUEUED
    vm = VirtualMachine.objects.get(request=request)
    assert job.target == vm
    assert vm.state == "building"
    assert AuditEvent.objects.filter(action="request.approve", result=AuditResult.SUCCESS).exists()


def test_only_deciders_approve(team, member, team_admin):
    request = submit(member, team)
    with pytest.raises(PermissionDenied):
        request_approve(actor=team_admin, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        request_reject(actor=member, request_id=request.pk, reason="no")


def test_approval_rechecks_quota_against_committed_usage(team, member, staff):
    first = submit(member, team, name="a", vcpus=4)
    second = submit(member, team, name="b", vcpus=4)
    team.quota.vcpus = Decimal("5")
    team.quota.save()
    request_approve(actor=staff, request_id=first.pk)
    with pytest.raises(QuotaExceeded):
        request_approve(actor=staff, request_id=second.pk)
    second.refresh_from_db()
    assert second.state == RequestState.PENDING
    refused = AuditEvent.objects.get(action="request.approve", result=AuditResult.FAILURE)
    assert "vCPUs" in refused.detail
    assert Job.objects.count() == 1


def test_reject_needs_reason(team, member, staff):
    request = submit(member, team)
    with pytest.raises(ValidationError):
        request_reject(actor=staff, request_id=request.pk, reason="  ")
    request_reject(actor=staff, request_id=request.pk, reason="Use the shared one")
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED
    assert request.decision_reason == "Use the shared one"
    assert AuditEvent.objects.filter(action="request.reject").exists()


def test_illegal_moves_are_refused(team, member, staff):
    request = submit(member, team)
    request_reject(actor=staff, request_id=request.pk, reason="no")
    with pytest.raises(InvalidTransition, match="rejected cannot become approved"):
        request_approve(actor=staff, request_id=request.pk)
    with pytest.raises(InvalidTransition):
        request_cancel(actor=member, request_id=request.pk)
    with pytest.raises(InvalidTransition):
        request_fulfill(request_id=request.pk)


def test_cancel_by_author_or_team_admin_only(team, member, team_admin, viewer):
    first = submit(member, team, name="a")
    with pytest.raises(PermissionDenied):
        request_cancel(actor=viewer, request_id=first.pk)
    request_cancel(actor=member, request_id=first.pk)
    second = submit(member, team, name="b")
    request_cancel(actor=team_admin, request_id=second.pk)
    assert set(team.requests.values_list("state", flat=True)) == {RequestState.CANCELLED}


def test_worker_moves_and_quota_release(team, member, staff):
    request = submit(member, team, vcpus=8)
    request_approve(actor=staff, request_id=request.pk)
    request_provisioning_start(request_id=request.pk)
    request_provisioning_start(request_id=request.pk)  # a redelivered task passes again
    request_fail(request_id=request.pk, reason="host down")
    request_fail(request_id=request.pk, reason="host down")  # idempotent
    request.refresh_from_db()
    assert request.state == RequestState.FAILED
    assert request.failure_reason == "host down"
    # the failed request holds nothing: a new ask of the full quota fits
    submit(member, team, name="again", vcpus=8)


def test_worker_refuses_when_quota_was_lowered(team, member, staff):
    request = submit(member, team, vcpus=4)
    request_approve(actor=staff, request_id=request.pk)
    team.quota.vcpus = Decimal("2")
    team.quota.save()
    with pytest.raises(QuotaExceeded):
        request_provisioning_start(request_id=request.pk)


def test_fulfilled_request_counts_through_its_vm(team, member, staff):
    request = submit(member, team, vcpus=8)
    request_approve(actor=staff, request_id=request.pk)
    request_provisioning_start(request_id=request.pk)
    request_fulfill(request_id=request.pk)
    with pytest.raises(QuotaExceeded, match="vCPUs"):
        submit(member, team, name="more", vcpus=1)


def test_unique_active_name_constraint_in_database(team, member):
    from django.db import IntegrityError, transaction

    ResourceRequestFactory(team=team, name="x", requested_by=member)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResourceRequestFactory(team=team, name="x", requested_by=member)
