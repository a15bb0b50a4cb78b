"""Quota changes: a team admin asks, an administrator approves (the quota changes at once) or rejects."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.choices import AuditResult, RequestState, Role
from portal.models import AuditEvent, Job, Quota, ResourceRequest
from portal.notifications.categories import NotificationCategory
from portal.notifications.models import Notification
from portal.quota_requests.kind import QUOTA_CHANGE
from portal.quota_requests.services import quota_change_submit
from portal.quotas import teams_usage
from portal.services import request_approve, request_cancel, request_reject
from tests.factories import MembershipFactory, UserFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


def submit(actor, team, **limits):
    return quota_change_submit(actor=actor, team=team, limits=limits, justification="more")


def test_an_ask_stores_only_what_changes_and_counts_against_nothing(change, team, quota):
    assert (change.kind, change.state, change.name) == (QUOTA_CHANGE, RequestState.PENDING, "quota")
    assert change.spec == {"limits": {"vcpus": "8", "vm_count": 4}}
    usage = teams_usage([Quota.objects.select_related("team").get(pk=quota.pk).team])[team.pk]
    assert usage.pending == usage.committed == type(usage.pending)()
    assert AuditEvent.objects.filter(action="request.submit", team=team).count() == 1


@pytest.mark.parametrize("who", ["viewer", "member", "outsider"])
def test_only_team_admins_ask(request, who, team, quota):
    with pytest.raises(PermissionDenied):
        submit(request.getfixturevalue(who), team, vm_count=5)
    assert not ResourceRequest.objects.exists()


def test_an_ask_that_changes_nothing_is_refused(team_admin, team, quota):
    with pytest.raises(ValidationError, match="Change at least one limit"):
        submit(team_admin, team, vcpus=Decimal("4"), vm_count=2)


def test_one_change_waits_at_a_time(change, team_admin, team):
    with pytest.raises(ValidationError, match="already has a quota change waiting"):
        submit(team_admin, team, vm_count=9)
    request_cancel(actor=team_admin, request_id=change.pk)
    assert submit(team_admin, team, vm_count=9).state == RequestState.PENDING


def test_a_decrease_below_usage_is_refused_at_submit(team_admin, team, quota):
    VirtualMachineFactory(team=team, vcpus=2, memory_mib=512)
    with pytest.raises(ValidationError) as refused:
        submit(team_admin, team, vcpus=Decimal("1.5"), memory_mib=256, vm_count=1)
    assert refused.value.message_dict == {
        "vcpus": ["vCPUs: the team already uses 2; a quota of 1.5 would be below that."],
        "memory_mib": ["Memory: the team already uses 512 MiB; a quota of 256 MiB would be below that."],
    }
    assert not ResourceRequest.objects.exists()
    assert submit(team_admin, team, vcpus=Decimal("2"), vm_count=1).state == RequestState.PENDING


def test_approval_changes_the_quota_at_once_without_a_job(change, staff, team, team_admin, quota):
    assert request_approve(actor=staff, request_id=change.pk, reason="fine") is None
    quota.refresh_from_db()
    assert (quota.vcpus, quota.vm_count, quota.memory_mib) == (Decimal("8"), 4, 1024)
    change.refresh_from_db()
    assert (change.state, change.decided_by) == (RequestState.FULFILLED, staff)
    assert change.finished_at is not None
    assert not Job.objects.exists()
    applied = AuditEvent.objects.get(action="quota.change")
    assert (applied.actor, applied.team, applied.detail) == (staff, team, "vCPUs 4 → 8; Virtual machines 2 → 4")
    assert AuditEvent.objects.filter(action="request.approve", result=AuditResult.SUCCESS).count() == 1
    note = Notification.objects.get(user=team_admin)
    assert note.category == NotificationCategory.QUOTA_CHANGE
    assert note.subject == "Quota change for blue approved"
    assert note.body == "Asked for: vCPUs 8; Virtual machines 4.\nReason: fine"
    assert note.url == "/teams/blue/"


def test_every_team_admin_hears_of_the_decision(change, staff, team, team_admin, member):
    other_admin = UserFactory(username="otheradmin")
    MembershipFactory(user=other_admin, team=team, role=Role.TEAM_ADMIN)
    request_reject(actor=staff, request_id=change.pk, reason="not this term")
    told = Notification.objects.filter(category=NotificationCategory.QUOTA_CHANGE)
    assert set(told.values_list("user__username", flat=True)) == {"teamadmin", "otheradmin"}
    assert told.first().subject == "Quota change for blue rejected"


def test_rejection_leaves_the_quota(change, staff, quota):
    request_reject(actor=staff, request_id=change.pk, reason="not this term")
    quota.refresh_from_db()
    assert (quota.vcpus, quota.vm_count) == (Decimal("4"), 2)
    change.refresh_from_db()
    assert change.state == RequestState.REJECTED
    assert not AuditEvent.objects.filter(action="quota.change").exists()


def test_a_decrease_below_usage_is_refused_again_at_approval(team_admin, staff, team, quota):
    ask = submit(team_admin, team, vm_count=1)
    VirtualMachineFactory.create_batch(2, team=team, vcpus=1, memory_mib=64)  # the team grew meanwhile
    with pytest.raises(ValidationError, match="the team already uses 2; a quota of 1 would be below that"):
        request_approve(actor=staff, request_id=ask.pk)
    quota.refresh_from_db()
    ask.refresh_from_db()
    assert (quota.vm_count, ask.state) == (2, RequestState.PENDING)
    refused = AuditEvent.objects.get(action="request.approve")
    assert refused.result == AuditResult.FAILURE
    assert "below that" in refused.detail
    assert not Notification.objects.filter(category=NotificationCategory.QUOTA_CHANGE).exists()


def test_only_administrators_decide(change, team_admin):
    with pytest.raises(PermissionDenied):
        request_approve(actor=team_admin, request_id=change.pk)
