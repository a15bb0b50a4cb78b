"""Quota changes are decided where every ask is: Django admin's actions and buttons, and the API."""

from decimal import Decimal

import pytest

from portal.choices import RequestState
from portal.models import Job, Quota
from tests.factories import VirtualMachineFactory
from tests.support.api import token_client  # noqa: F401 (fixture)
from tests.support.pages import csrf_post, text

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/portal/resourcerequest/"


@pytest.fixture
def admin_client(client_for, staff):
    return client_for(staff)


def test_the_bulk_approve_action_applies_the_change(admin_client, change, team):
    data = {"action": "approve_selected", "index": "0", "_selected_action": [str(change.pk)]}
    response = csrf_post(admin_client, CHANGELIST, data, follow=True)
    assert "Approved 1 request(s); the change is made." in text(response)
    assert "provisioning has been queued" not in text(response)
    assert Quota.objects.get(team=team).vm_count == 4
    assert not Job.objects.exists(), "nothing to build: no job"


def test_the_per_object_approve_button_applies_the_change(admin_client, change, team):
    response = csrf_post(admin_client, f"{CHANGELIST}{change.pk}/approve/", follow=True)
    assert "Approved Quota change quota for blue; the change is made." in text(response)
    change.refresh_from_db()
    assert change.state == RequestState.FULFILLED
    assert Quota.objects.get(team=team).vcpus == Decimal("8")


def test_the_admin_shows_a_refused_approval(admin_client, change, team):
    Quota.objects.filter(team=team).update(vm_count=10)
    VirtualMachineFactory.create_batch(5, team=team, vcpus=1)  # more VMs than the change would allow
    response = csrf_post(admin_client, f"{CHANGELIST}{change.pk}/approve/", follow=True)
    assert "Virtual machines: the team already uses 5; a quota of 4 would be below that." in text(response)
    change.refresh_from_db()
    assert change.state == RequestState.PENDING


def test_the_reject_action_keeps_the_quota(admin_client, change, team):
    data = {"action": "reject_selected", "index": "0", "_selected_action": [str(change.pk)], "reason": "no budget"}
    response = csrf_post(admin_client, CHANGELIST, data, follow=True)
    assert "Rejected 1 request(s)." in text(response)
    change.refresh_from_db()
    assert (change.state, change.decision_reason) == (RequestState.REJECTED, "no budget")
    assert Quota.objects.get(team=team).vm_count == 2


def test_the_api_approves_with_the_request_as_answer(change, staff, team, token_client):  # noqa: F811
    response = token_client(staff).post(f"/api/v1/requests/{change.pk}/approve/", {"reason": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == RequestState.FULFILLED
    assert Quota.objects.get(team=team).vm_count == 4


def test_lists_say_what_a_change_asks_for(admin_client, client_for, team_admin, change):
    assert "vCPUs 8; Virtual machines 4" in text(admin_client.get(CHANGELIST))
    assert "vCPUs 8; Virtual machines 4" in text(client_for(team_admin).get("/requests/"))
