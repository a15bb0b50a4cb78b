"""Django admin: deciding requests (bulk and per object), permissions, CSRF, and pages that never reach a host."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from hypervisors.models import VirtualMachine
from portal.choices import AuditResult, JobState, RequestState
from portal.models import AuditEvent, Job, ResourceRequest
from portal.services import request_approve, request_reject
from tests.factories import (
    DockerHostFactory,
    HostFactory,
    UserFactory,
    VirtualMachineFactory,
)
from tests.support.pages import csrf_post, text

pytestmark = pytest.mark.django_db


CHANGELIST = "/admin/portal/resourcerequest/"


def action(client: Client, name: str, requests, follow=True, **extra):
    """Run a changelist action on some requests, as the action bar posts it."""
    data = {"action": name, "index": "0", "_selected_action": [str(r.pk) for r in requests], **extra}
    return csrf_post(client, CHANGELIST, data, follow=follow)


def states(*requests) -> list[str]:
    return [ResourceRequest.objects.get(pk=r.pk).state for r in requests]


@pytest.fixture
def clerk(db):
    """Staff who may read and change requests in admin but lacks the permission to decide them."""
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="portal", codename__in=["view_resourcerequest", "change_resourcerequest"]
        )
    )
    return user


# --- bulk approve ---


@pytest.fixture
def admin_client(client_for, staff):
    return client_for(staff)


def test_bulk_approve(admin_client, staff, ask, django_capture_on_commit_callbacks):
    first, second = ask("one"), ask("two")
    with django_capture_on_commit_callbacks() as callbacks:
        response = action(admin_client, "approve_selected", [first, second])
    assert response.status_code == 200
    assert response.redirect_chain == [(CHANGELIST, 302)]
    assert "Approved 2 request(s); provisioning has been queued." in text(response)
    assert len(callbacks) == 2, "one provisioning task per request, sent after commit"
    for request in (first, second):
        request.refresh_from_db()
        assert request.state == RequestState.APPROVED
        assert request.decided_by == staff
        assert request.decided_at is not None
        job = Job.objects.get(request=request)
        assert job.state == JobState.QUEUED
        assert job.requested_by == staff
        vm = VirtualMachine.objects.get(request=request)
        assert job.target == vm
        assert vm.state == "building"
        assert AuditEvent.objects.filter(
            action="request.approve", target_id=str(request.pk), actor=staff, result=AuditResult.SUCCESS
        ).exists()


def test_bulk_approve_leaves_over_quota_requests_pending(admin_client, ask):
    small, big = ask("small", vcpus=1), ask("big", vcpus=100)
    response = action(admin_client, "approve_selected", [small, big])
    assert response.status_code == 200
    page = text(response)
    assert "Approved 1 request(s)" in page
    assert "Virtual machine big for blue: vCPUs: over quota by" in page
    assert states(small, big) == [RequestState.APPROVED, RequestState.PENDING]
    assert list(Job.objects.values_list("request__name", flat=True)) == ["small"]
    assert not VirtualMachine.objects.filter(name="big").exists()
    refused = AuditEvent.objects.get(action="request.approve", result=AuditResult.FAILURE)
    assert refused.target_id == str(big.pk)
    assert "vCPUs" in refused.detail


def test_bulk_approve_reports_requests_that_are_not_pending(admin_client, ask, staff):
    pending, decided = ask("pending"), ask("decided")
    request_reject(actor=staff, request_id=decided.pk, reason="no")
    response = action(admin_client, "approve_selected", [pending, decided])
    assert "A request that is rejected cannot become approved." in text(response)
    assert states(pending, decided) == [RequestState.APPROVED, RequestState.REJECTED]
    assert Job.objects.count() == 1


def test_bulk_approve_without_csrf_is_refused(admin_client, ask):
    request = ask()
    admin_client.get(CHANGELIST)
    response = admin_client.post(
        CHANGELIST, {"action": "approve_selected", "index": "0", "_selected_action": [request.pk]}
    )
    assert response.status_code == 403
    assert states(request) == [RequestState.PENDING]
    assert not Job.objects.exists()


# --- bulk reject ---


def test_bulk_reject_without_reason_asks_for_one(admin_client, ask):
    first, second = ask("one"), ask("two")
    response = action(admin_client, "reject_selected", [first, second], follow=False)
    assert response.status_code == 200
    page = text(response)
    assert "Reject these requests? The reason is shown to the people who asked." in page
    assert 'name="reason"' in page
    assert "Virtual machine one for blue" in page
    assert "Virtual machine two for blue" in page
    for request in (first, second):
        assert f'name="_selected_action" value="{request.pk}"' in page
    assert 'name="action" value="reject_selected"' in page
    assert states(first, second) == [RequestState.PENDING, RequestState.PENDING]
    assert not AuditEvent.objects.filter(action="request.reject").exists()


def test_bulk_reject_with_blank_reason_changes_nothing(admin_client, ask):
    request = ask()
    response = action(admin_client, "reject_selected", [request], follow=False, reason="   ")
    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert states(request) == [RequestState.PENDING]


def test_bulk_reject_through_the_intermediate_form(admin_client, ask, staff):
    first, second = ask("one"), ask("two")
    page = action(admin_client, "reject_selected", [first, second], follow=False).content.decode()
    form = re.search(r'<form method="post">(.*?)</form>', page, re.S).group(1)
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    assert "csrfmiddlewaretoken" in data
    data["reason"] = ["Use the shared staging VM"]
    response = admin_client.post(CHANGELIST, data, follow=True)
    assert response.status_code == 200
    assert "Rejected 2 request(s)." in text(response)
    for request in (first, second):
        request.refresh_from_db()
        assert request.state == RequestState.REJECTED
        assert request.decision_reason == "Use the shared staging VM"
        assert request.decided_by == staff
        event = AuditEvent.objects.get(action="request.reject", target_id=str(request.pk))
        assert event.detail == "Use the shared staging VM"
    assert not Job.objects.exists()


# --- per object ---


def test_change_page_offers_approve_and_reject_while_pending(admin_client, ask, staff):
    request = ask()
    page = admin_client.get(f"{CHANGELIST}{request.pk}/change/").content.decode()
    assert f'action="{CHANGELIST}{request.pk}/approve/"' in page
    assert f'href="{CHANGELIST}{request.pk}/reject/"' in page
    request_reject(actor=staff, request_id=request.pk, reason="no")
    page = admin_client.get(f"{CHANGELIST}{request.pk}/change/").content.decode()
    assert f"{CHANGELIST}{request.pk}/approve/" not in page


def test_per_object_approve(admin_client, ask, staff, django_capture_on_commit_callbacks):
    request = ask()
    with django_capture_on_commit_callbacks() as callbacks:
        response = csrf_post(admin_client, f"{CHANGELIST}{request.pk}/approve/", follow=True)
    assert response.redirect_chain == [(f"{CHANGELIST}{request.pk}/change/", 302)]
    assert "Approved Virtual machine web for blue; provisioning has been queued." in text(response)
    assert len(callbacks) == 1
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.decided_by == staff
    assert Job.objects.filter(request=request).count() == 1
    assert AuditEvent.objects.filter(action="request.approve", result=AuditResult.SUCCESS).count() == 1


def test_get_on_approve_changes_nothing(admin_client, ask, django_capture_on_commit_callbacks):
    request = ask()
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.get(f"{CHANGELIST}{request.pk}/approve/")
    assert response.status_code == 302
    assert response.url == f"{CHANGELIST}{request.pk}/change/"
    assert callbacks == []
    assert states(request) == [RequestState.PENDING]
    assert not Job.objects.exists()
    assert not VirtualMachine.objects.exists()
    assert not AuditEvent.objects.filter(action="request.approve").exists()


def test_per_object_approve_without_csrf_is_refused(admin_client, ask):
    request = ask()
    admin_client.get("/admin/")
    assert admin_client.post(f"{CHANGELIST}{request.pk}/approve/").status_code == 403
    assert states(request) == [RequestState.PENDING]


def test_per_object_approve_over_quota_stays_pending(admin_client, ask):
    request = ask(memory_mib=5000)
    response = csrf_post(admin_client, f"{CHANGELIST}{request.pk}/approve/", follow=True)
    assert "Memory: over quota by 904 MiB" in text(response)
    assert states(request) == [RequestState.PENDING]
    assert not Job.objects.exists()


def test_per_object_approve_of_decided_request_changes_nothing(admin_client, ask, staff):
    request = ask()
    request_approve(actor=staff, request_id=request.pk)
    response = csrf_post(admin_client, f"{CHANGELIST}{request.pk}/approve/", follow=True)
    assert "A request that is approved cannot become approved." in text(response)
    assert states(request) == [RequestState.APPROVED]
    assert Job.objects.count() == 1


def test_unknown_request_is_404(admin_client):
    assert csrf_post(admin_client, f"{CHANGELIST}999999/approve/").status_code == 404
    assert admin_client.get(f"{CHANGELIST}999999/reject/").status_code == 404


def test_per_object_reject(admin_client, ask, staff):
    request = ask()
    form = admin_client.get(f"{CHANGELIST}{request.pk}/reject/")
    assert form.status_code == 200
    assert 'name="reason"' in text(form)
    assert "Virtual machine web for blue" in text(form)
    assert states(request) == [RequestState.PENDING]

    empty = csrf_post(admin_client, f"{CHANGELIST}{request.pk}/reject/", {"reason": ""})
    assert empty.status_code == 200
    assert "This field is required." in text(empty)
    assert states(request) == [RequestState.PENDING]

    response = csrf_post(admin_client, f"{CHANGELIST}{request.pk}/reject/", {"reason": "Too big"}, follow=True)
    assert response.redirect_chain == [(f"{CHANGELIST}{request.pk}/change/", 302)]
    assert "Rejected Virtual machine web for blue." in text(response)
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED
    assert request.decision_reason == "Too big"
    assert request.decided_by == staff
    assert AuditEvent.objects.filter(action="request.reject", detail="Too big").exists()


def test_rejected_reason_is_shown_to_the_author(admin_client, client_for, member, ask):
    request = ask()
    csrf_post(admin_client, f"{CHANGELIST}{request.pk}/reject/", {"reason": "Use <the> shared one"})
    page = client_for(member).get("/requests/").content.decode()
    assert "Use &lt;the&gt; shared one" in page


# --- who may decide ---


def test_staff_without_decide_permission_cannot_approve_or_reject(client_for, clerk, ask):
    request = ask()
    client = client_for(clerk)
    changelist = client.get(CHANGELIST)
    assert changelist.status_code == 200
    assert 'value="approve_selected"' not in changelist.content.decode()
    assert 'value="reject_selected"' not in changelist.content.decode()

    action(client, "approve_selected", [request])
    action(client, "reject_selected", [request], reason="no")
    assert csrf_post(client, f"{CHANGELIST}{request.pk}/approve/").status_code == 403
    assert csrf_post(client, f"{CHANGELIST}{request.pk}/reject/", {"reason": "no"}).status_code == 403

    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert request.decided_by is None
    assert not Job.objects.exists()
    assert not VirtualMachine.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["request.approve", "request.reject"]).exists()


def test_staff_with_decide_permission_approves(client_for, clerk, ask):
    clerk.user_permissions.add(Permission.objects.get(codename="decide_resourcerequest"))
    request = ask()
    client = client_for(clerk)
    assert 'value="approve_selected"' in client.get(CHANGELIST).content.decode()
    action(client, "approve_selected", [request])
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.decided_by == clerk


def test_non_staff_cannot_reach_admin_decisions(client_for, member, ask):
    request = ask()
    client = client_for(member)
    response = csrf_post(client, f"{CHANGELIST}{request.pk}/approve/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert states(request) == [RequestState.PENDING]


def test_reject_form_needs_permission_to_see_the_request(client_for, ask):
    bare_staff = UserFactory(username="bare-staff", is_staff=True)
    request = ask(name="confidential")
    client = client_for(bare_staff)
    assert client.get(f"{CHANGELIST}{request.pk}/change/").status_code == 403
    response = client.get(f"{CHANGELIST}{request.pk}/reject/")
    assert response.status_code == 403
    assert "confidential" not in text(response)


# --- never a hypervisor ---


ADMIN_APPS = {"portal", "hypervisors", "containers"}


def test_every_admin_page_renders_without_a_hypervisor(no_hypervisor, admin_client, staff, ask, member, outsider):
    staff_request = RequestFactory().get("/admin/")
    staff_request.user = staff
    host = HostFactory(uri="qemu+ssh://root@unreachable/system", domain_type="qemu")
    approved = ask("approved")
    request_approve(actor=staff, request_id=approved.pk, reason="ok")
    rejected = ask("rejected")
    request_reject(actor=staff, request_id=rejected.pk, reason="no")
    ask("pending")
    VirtualMachineFactory(team=approved.team, owner=member, host=host, name="placed")
    DockerHostFactory(base_url="ssh://root@unreachable")

    registered = [(model, model_admin) for model, model_admin in admin.site._registry.items()]
    ours = [(m, ma) for m, ma in registered if m._meta.app_label in ADMIN_APPS]
    assert {m._meta.model_name for m, _ in ours} >= {
        "team", "membership", "quota", "resourcerequest", "job", "auditevent",
        "host", "image", "virtualmachine", "dockerhost",
    }  # fmt: skip
    assert admin_client.get("/admin/").status_code == 200
    for model, model_admin in ours:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = reverse(f"{info}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert admin_client.get(changelist, {"q": "blue"}).status_code == 200, changelist
        if model_admin.has_add_permission(staff_request):
            add = reverse(f"{info}_add")
            assert admin_client.get(add).status_code == 200, add
        objects = list(model._default_manager.all()[:5])
        if model._meta.model_name in {"team", "quota", "resourcerequest", "job", "auditevent", "host", "image"}:
            assert objects, f"no {model._meta.model_name} to show"
        for obj in objects:
            change = reverse(f"{info}_change", args=[obj.pk])
            assert admin_client.get(change).status_code == 200, change
    for request in ResourceRequest.objects.all():
        assert admin_client.get(f"{CHANGELIST}{request.pk}/reject/").status_code == 200


def test_admin_decisions_never_contact_a_hypervisor(no_hypervisor, admin_client, ask):
    first, second, third = ask("one"), ask("two"), ask("three")
    action(admin_client, "approve_selected", [first])
    csrf_post(admin_client, f"{CHANGELIST}{second.pk}/approve/")
    csrf_post(admin_client, f"{CHANGELIST}{third.pk}/reject/", {"reason": "no"})
    assert states(first, second, third) == [RequestState.APPROVED, RequestState.APPROVED, RequestState.REJECTED]
