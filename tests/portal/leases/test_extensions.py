"""Extending a lease: within the team's maximum approved at submit, beyond it pending until an admin approves."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.choices import RequestState
from portal.leases.extensions import LEASE_EXTENSION_KIND, lease_extension_submit
from portal.leases.policies import lease_last_day
from portal.models import AuditEvent, Notification, ResourceRequest
from portal.quotas import teams_usage
from portal.services import request_approve
from tests.factories import HostFactory, VirtualMachineFactory
from tests.portal.leases.conftest import days_from
from tests.support.pages import csrf_post, text
from tests.support.rows import usage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(team, member, vm_policy):
    """The member's running VM whose lease has been stopped at its end already."""
    from django.utils import timezone

    machine = VirtualMachineFactory(team=team, owner=member, host=HostFactory(), name="web")
    fields = machine.lease_set(ends_at=timezone.now() + timedelta(days=2), grace_days=7)
    machine.lease_reminded_days = 7
    machine.save(update_fields=[*fields])
    return machine


def extend(actor, vm, today, days):
    return lease_extension_submit(actor=actor, kind="vm", resource_id=vm.pk, day=today + timedelta(days=days))


def test_within_the_maximum_it_is_approved_at_submit(vm, member, today):
    before = usage_of(vm.team)
    asked = extend(member, vm, today, 60)
    assert asked.kind == LEASE_EXTENSION_KIND and asked.state == RequestState.FULFILLED
    assert asked.decided_by is None and "approved when asked" in asked.decision_reason
    vm.refresh_from_db()
    assert lease_last_day(vm.lease_ends_at) == today + timedelta(days=60)
    assert vm.lease_reminded_days is None, "reminders start afresh"
    assert usage_of(vm.team) == before, "an extension counts against no quota"
    assert AuditEvent.objects.filter(action="lease.extend").exists()


def test_beyond_the_maximum_it_waits_and_approval_moves_the_date(vm, member, staff, today):
    old_end = vm.lease_ends_at
    asked = extend(member, vm, today, 200)
    assert asked.state == RequestState.PENDING
    assert Notification.objects.filter(user=staff, category="request_pending").count() == 1, "approvers are told"
    vm.refresh_from_db()
    assert vm.lease_ends_at == old_end
    assert teams_usage([vm.team])[vm.team.pk].pending == usage_of(vm.team).pending
    assert request_approve(actor=staff, request_id=asked.pk) is None, "no job: applied at approval"
    asked.refresh_from_db()
    assert asked.state == RequestState.FULFILLED
    vm.refresh_from_db()
    assert lease_last_day(vm.lease_ends_at) == today + timedelta(days=200)
    assert vm.lease_deletes_at == vm.lease_ends_at + timedelta(days=7)


def test_an_administrator_approves_a_long_extension_in_django_admin(vm, member, staff, today):
    from django.test import Client

    asked = extend(member, vm, today, 200)
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        "/admin/portal/resourcerequest/", {"action": "approve_selected", "_selected_action": [asked.pk]}
    )
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.state == RequestState.FULFILLED and asked.decided_by == staff
    vm.refresh_from_db()
    assert lease_last_day(vm.lease_ends_at) == today + timedelta(days=200)


def test_a_second_pending_extension_is_refused(vm, member, today):
    extend(member, vm, today, 200)
    with pytest.raises(ValidationError):
        extend(member, vm, today, 300)


def test_a_team_admin_may_extend_another_members_vm(vm, team_admin, today):
    assert extend(team_admin, vm, today, 10).state == RequestState.FULFILLED


def test_another_member_and_a_viewer_may_not(vm, team, viewer, today):
    from portal.choices import Role
    from tests.factories import MembershipFactory, UserFactory

    other = UserFactory(username="other")
    MembershipFactory(user=other, team=team, role=Role.MEMBER)
    for actor in (other, viewer):
        with pytest.raises(PermissionDenied):
            extend(actor, vm, today, 10)
    assert not ResourceRequest.objects.filter(kind=LEASE_EXTENSION_KIND).exists()


def test_the_page_shows_time_left_and_extends(client_for, vm, member, today):
    client = client_for(member)
    page = text(client.get(f"/vms/{vm.uuid}/"))
    assert "Expires in 1 day" in page
    response = csrf_post(client, f"/leases/vm/{vm.pk}/extend/", {"lease_ends_on": days_from(today, 30)}, follow=True)
    assert "The lease was extended." in text(response)
    vm.refresh_from_db()
    assert lease_last_day(vm.lease_ends_at) == today + timedelta(days=30)


def test_an_expired_lease_says_when_it_will_be_deleted(client_for, vm, member):
    from django.utils import timezone

    vm.save(update_fields=vm.lease_set(ends_at=timezone.now() - timedelta(days=1), grace_days=7))
    page = text(client_for(member).get(f"/vms/{vm.uuid}/"))
    assert f"Expired, will be deleted on {timezone.localdate(vm.lease_deletes_at).isoformat()}" in page


def test_outsiders_get_404_and_bad_dates_an_error(client_for, vm, member, outsider):
    assert (
        csrf_post(client_for(outsider), f"/leases/vm/{vm.pk}/extend/", {"lease_ends_on": "2099-01-01"}).status_code
        == 404
    )
    assert csrf_post(client_for(member), "/leases/nope/1/extend/", {"lease_ends_on": "2099-01-01"}).status_code == 404
    response = csrf_post(client_for(member), f"/leases/vm/{vm.pk}/extend/", {"lease_ends_on": "soon"}, follow=True)
    assert "Lease not extended" in text(response)


def test_a_containers_page_shows_its_lease_too(client_for, team, member):
    from django.utils import timezone

    from tests.factories import ContainerFactory

    container = ContainerFactory(team=team, owner=member)
    container.save(update_fields=container.lease_set(ends_at=timezone.now() + timedelta(days=5, hours=1), grace_days=7))
    page = text(client_for(member).get(f"/containers/{container.pk}/"))
    assert "Expires in 5 days" in page and f"/leases/container/{container.pk}/extend/" in page
