"""Who is told what at each move of a request: new asks to the portal administrators, decisions and finished
builds to the person who asked; nobody of their own action, nothing for a move that was refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.models import ResourceRequest
from portal.notifications.categories import NotificationCategory
from portal.notifications.models import Notification
from portal.provisioning import Builder, provision_run
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_reject, request_submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def submit(actor, team, image, name="web", memory_mib=128):
    return request_submit(
        actor=actor, team=team, kind=HypervisorKind.VM, name=name, vcpus=1, memory_mib=memory_mib, disk_gib=1,
        justification="CI runners", spec={"image_id": image.pk},
    )  # fmt: skip


def told(user, category=None) -> list[Notification]:
    rows = Notification.objects.filter(user=user)
    return list(rows.filter(category=category) if category else rows)


@pytest.fixture
def decide_permission():
    return Permission.objects.get(codename="decide_resourcerequest", content_type__app_label="portal")


@pytest.fixture
def administrators(staff, decide_permission):
    """Who may decide (a superuser, a staff user given the permission, one given it through a group) and who
    may not (staff without it, a non-staff holder of it, an inactive superuser)."""
    direct = UserFactory(username="direct", is_staff=True)
    direct.user_permissions.add(decide_permission)
    by_group = UserFactory(username="bygroup", is_staff=True)
    group = Group.objects.create(name="deciders")
    group.permissions.add(decide_permission)
    by_group.groups.add(group)
    not_deciders = [
        UserFactory(username="plainstaff", is_staff=True),
        UserFactory(username="notstaff"),
        UserFactory(username="gone", is_staff=True, is_superuser=True, is_active=False),
    ]
    not_deciders[1].user_permissions.add(decide_permission)
    return {"deciders": [staff, direct, by_group], "others": not_deciders}


def test_a_new_ask_tells_every_administrator_with_a_link_to_it_in_admin(team, member, image, administrators):
    request = submit(member, team, image)
    for decider in administrators["deciders"]:
        [notice] = told(decider)
        assert notice.category == NotificationCategory.REQUEST_PENDING
        assert notice.url == f"/admin/portal/resourcerequest/{request.pk}/change/"
        assert "web" in notice.subject and "blue" in notice.subject
        assert "member" in notice.body and "CI runners" in notice.body
    for other in administrators["others"]:
        assert told(other) == []
    assert told(member) == []


def test_an_administrator_who_asks_is_not_told_of_their_own_ask(team, staff, image, administrators):
    submit(staff, team, image)
    assert told(staff) == []
    assert len(told(administrators["deciders"][1])) == 1


def test_an_ask_refused_for_quota_tells_nobody(team, member, image, staff):
    with pytest.raises(QuotaExceeded):
        submit(member, team, image, memory_mib=10**6)
    assert not Notification.objects.exists()


def test_approval_tells_the_asker_with_a_link_to_the_resource(team, member, image, staff, libvirt_test_host):
    request = submit(member, team, image)
    request_approve(actor=staff, request_id=request.pk, reason="go ahead")
    [notice] = told(member)
    vm = VirtualMachine.objects.get(request=request)
    assert notice.category == NotificationCategory.REQUEST_DECIDED
    assert notice.subject == "Request approved: virtual machine web"
    assert notice.url == f"/vms/{vm.uuid}/"
    assert "admin" in notice.body and "Reason: go ahead" in notice.body
    assert told(staff, NotificationCategory.REQUEST_DECIDED) == []


def test_rejection_tells_the_asker_the_reason(team, member, image, staff):
    request = submit(member, team, image)
    request_reject(actor=staff, request_id=request.pk, reason="  Use the shared runner  ")
    [notice] = told(member)
    assert notice.category == NotificationCategory.REQUEST_DECIDED
    assert notice.subject == "Request rejected: virtual machine web"
    assert "Reason: Use the shared runner" in notice.body
    assert notice.url == f"/requests/?mine=1#request-{request.pk}"


def test_a_refused_decision_tells_nobody(team, member, image, staff):
    request = submit(member, team, image)
    with pytest.raises(ValidationError):
        request_reject(actor=staff, request_id=request.pk, reason=" ")
    ResourceRequest.objects.filter(pk=request.pk).update(memory_mib=10**6)
    with pytest.raises(QuotaExceeded):
        request_approve(actor=staff, request_id=request.pk)
    assert told(member) == []


def test_deciding_ones_own_ask_tells_nobody(team, staff, image, libvirt_test_host):
    request = submit(staff, team, image)
    request_approve(actor=staff, request_id=request.pk)
    assert told(staff) == []


def run_build(job, build):
    """Run the provisioning skeleton on the approved VM with the kind's part given here (cleanup removes the row)."""
    builder = Builder(
        load=lambda job: VirtualMachine.objects.filter(request_id=job.request_id).first(),
        build=build,
        cleanup=lambda job, vm: vm.delete(),
        unreachable=(ConnectionError,),
    )
    provision_run(builder, job_id=job.pk, final_attempt=True)


@pytest.fixture
def approved_job(team, member, image, staff, libvirt_test_host):
    job = request_approve(actor=staff, request_id=submit(member, team, image).pk)
    Notification.objects.all().delete()
    return job


def test_a_finished_build_tells_the_asker_with_a_link_to_the_resource(approved_job, member, staff):
    run_build(approved_job, lambda job, vm: "Running")
    [notice] = Notification.objects.all()
    vm = VirtualMachine.objects.get(request_id=approved_job.request_id)
    assert notice.user == member and notice.category == NotificationCategory.JOB_FINISHED
    assert notice.subject == "Ready: virtual machine web"
    assert notice.url == f"/vms/{vm.uuid}/"


def test_a_failed_build_tells_the_asker_why_with_a_link_to_the_request(approved_job, member):
    def fail(job, vm):
        raise RuntimeError("the image is corrupt")

    run_build(approved_job, fail)
    [notice] = Notification.objects.all()
    assert notice.user == member and notice.category == NotificationCategory.JOB_FINISHED
    assert notice.subject == "Build failed: virtual machine web"
    assert "the image is corrupt" in notice.body
    assert notice.url == f"/requests/?mine=1#request-{approved_job.request_id}"


def test_a_job_delivered_again_after_it_failed_tells_nobody_twice(approved_job):
    def fail(job, vm):
        raise RuntimeError("boom")

    run_build(approved_job, fail)
    approved_job.refresh_from_db()
    approved_job.state = "running"
    approved_job.save(update_fields=["state"])
    run_build(approved_job, fail)
    assert Notification.objects.count() == 1
