"""The lease scan with an injected clock: each reminder once, stop once, delete once, each told and audited.

Jobs are recorded, not run (the ``sent`` fixture): the real engines are in tests/integration/test_leases.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.choices import VMJobAction
from portal.choices import JobState
from portal.jobs import job_create
from portal.leases.scan import lease_scan
from portal.models import AuditEvent, Job
from portal.notifications.models import Notification
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def vm(team, member, team_admin):
    """A running VM of the member whose lease ends in 10 days, deleted 7 days later."""
    machine = VirtualMachineFactory(team=team, owner=member, host=HostFactory(), name="web")
    machine.save(update_fields=machine.lease_set(ends_at=NOW + timedelta(days=10), grace_days=7))
    return machine


def lease_jobs(vm):
    return list(Job.objects.filter(target_id=str(vm.pk)).values_list("action", flat=True))


def subjects(user):
    return list(Notification.objects.filter(user=user).order_by("id").values_list("subject", flat=True))


def test_nothing_is_due_before_the_first_reminder(vm, member):
    assert lease_scan(now=NOW).reminded == {"vm": [], "container": []}
    assert subjects(member) == []


def test_each_reminder_goes_out_once_to_the_owner_and_team_admins(vm, member, team_admin, viewer, sent):
    for now in (NOW + timedelta(days=3), NOW + timedelta(days=3, hours=1)):
        lease_scan(now=now)
    assert len(subjects(member)) == 1 and "ends after" in subjects(member)[0]
    assert len(subjects(team_admin)) == 1
    assert subjects(viewer) == []
    vm.refresh_from_db()
    assert vm.lease_reminded_days == 7

    for now in (NOW + timedelta(days=9, hours=1), NOW + timedelta(days=9, hours=2)):
        lease_scan(now=now)
    assert len(subjects(member)) == 2
    vm.refresh_from_db()
    assert vm.lease_reminded_days == 1
    assert lease_jobs(vm) == [], "reminders change nothing on the host"


def test_a_late_scan_sends_only_the_last_reminder(vm, member):
    lease_scan(now=NOW + timedelta(days=9, hours=12))
    lease_scan(now=NOW + timedelta(days=9, hours=13))
    assert len(subjects(member)) == 1


def test_at_the_end_the_vm_is_shut_down_once_then_deleted_once(vm, member, team_admin, sent):
    end = vm.lease_ends_at
    first, second = lease_scan(now=end), lease_scan(now=end + timedelta(minutes=5))
    assert first.stopped["vm"] == [vm.pk] and second.stopped["vm"] == []
    assert lease_jobs(vm) == [VMJobAction.VM_SHUTDOWN]
    assert any("was stopped" in subject for subject in subjects(member))
    assert any("was stopped" in subject for subject in subjects(team_admin))
    stop = AuditEvent.objects.get(action="lease.stop")
    assert stop.actor is None and "Lease expiry" in stop.detail
    assert AuditEvent.objects.get(action="vm.shutdown").actor is None

    Job.objects.update(state=JobState.SUCCEEDED)
    vm.refresh_from_db()
    vm.state = "shutoff"
    vm.save(update_fields=["state"])
    assert lease_scan(now=end + timedelta(days=6)).deleted["vm"] == [], "within the grace period"
    delete_at = end + timedelta(days=7)
    first, second = lease_scan(now=delete_at), lease_scan(now=delete_at + timedelta(minutes=5))
    assert first.deleted["vm"] == [vm.pk] and second.deleted["vm"] == []
    assert sorted(lease_jobs(vm)) == sorted([VMJobAction.VM_SHUTDOWN, VMJobAction.VM_DELETE])
    assert AuditEvent.objects.get(action="lease.delete").actor is None
    assert any("being deleted" in subject for subject in subjects(member))


def test_a_vm_already_off_is_claimed_without_a_job(vm, sent):
    vm.state = "shutoff"
    vm.save(update_fields=["state"])
    assert lease_scan(now=vm.lease_ends_at).stopped["vm"] == [vm.pk]
    assert lease_jobs(vm) == []


def test_a_busy_vm_waits_for_the_next_scan(vm, member, sent):
    busy = job_create(action=VMJobAction.VM_REBOOT, team=vm.team, requested_by=member, target=vm)
    assert lease_scan(now=vm.lease_ends_at).stopped["vm"] == []
    vm.refresh_from_db()
    assert vm.lease_stopped_at is None
    Job.objects.filter(pk=busy.pk).update(state=JobState.SUCCEEDED)
    assert lease_scan(now=vm.lease_ends_at).stopped["vm"] == [vm.pk]


def test_a_vm_without_a_lease_is_never_touched(team, member, sent):
    VirtualMachineFactory(team=team, owner=member, host=HostFactory())
    result = lease_scan(now=NOW + timedelta(days=3650))
    assert result.stopped["vm"] == [] and result.deleted["vm"] == []
    assert not Job.objects.exists()


def test_the_reminder_days_come_from_the_settings(vm, member, settings):
    settings.PORTAL_LEASE_REMINDER_DAYS = [3]
    lease_scan(now=NOW + timedelta(days=5))
    assert subjects(member) == [], "no 7-day reminder when the settings ask for 3 days only"
    lease_scan(now=NOW + timedelta(days=8))
    lease_scan(now=NOW + timedelta(days=9, hours=12))
    assert len(subjects(member)) == 1
