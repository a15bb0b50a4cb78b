"""Asking for a VM in the page: bad input is a field error, and the quota preview says what the ask leaves."""

import html
import re

import pytest

from hypervisors.models import VirtualMachine
from portal.choices import RequestState
from portal.models import ResourceRequest
from tests.factories import (
    ImageFactory,
    ResourceRequestFactory,
    VirtualMachineFactory,
)
from tests.support.pages import csrf_post, field_errors, submit_button, text

pytestmark = pytest.mark.django_db


# --- asking for a VM ---


def test_member_asks_for_a_vm(client_for, member, data, team, image):
    response = csrf_post(client_for(member), "/vms/new/", data, follow=True)
    assert response.redirect_chain[-1][0] == "/requests/"
    assert "Your request for web was sent for approval." in text(response)
    request = ResourceRequest.objects.get()
    assert request.team == team
    assert request.requested_by == member
    assert request.state == RequestState.PENDING
    assert request.spec == {"image_id": image.pk, "image": image.name, "network_ids": []}
    assert not VirtualMachine.objects.exists(), "a VM row exists only once the request is approved"


BAD_INPUT = [
    ("name", "<script>alert(1)</script>"),
    ("name", "it's"),
    ("name", "]]>"),
    ("name", "vm-é"),
    ("name", "日本"),
    ("name", "a" * 300),
    ("name", ""),
    ("name", "-web"),
    ("name", "Web"),
    ("vcpus", "0"),
    ("vcpus", "-1"),
    ("vcpus", str(10**30)),
    ("vcpus", "many"),
    ("vcpus", "1.5"),
    ("memory_mib", "0"),
    ("memory_mib", "-1"),
    ("memory_mib", str(10**30)),
    ("memory_mib", "lots"),
    ("disk_gib", "0"),
    ("disk_gib", "-1"),
    ("disk_gib", str(10**30)),
    ("disk_gib", "big"),
    ("image", "999999"),
    ("image", "abc"),
    ("team", "999999"),
    ("team", str(10**30)),
    ("justification", ""),
]


@pytest.mark.parametrize(("field", "value"), BAD_INPUT, ids=lambda value: repr(value)[:16])
def test_bad_input_is_a_field_error_and_creates_nothing(client_for, member, data, field, value):
    response = csrf_post(client_for(member), "/vms/new/", {**data, field: value})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert field_errors(response, field), f"no error text next to {field}"
    assert not ResourceRequest.objects.exists()
    assert not VirtualMachine.objects.exists()


def test_bad_name_is_escaped_when_shown_again(client_for, member, data):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "name": "<script>alert(1)</script>"})
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


def test_team_the_user_is_not_in(client_for, member, data, red):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "team": str(red.pk)})
    assert response.status_code == 400
    assert "Select a valid choice" in field_errors(response, "team")
    assert not ResourceRequest.objects.exists()


def test_memory_below_image_minimum(client_for, member, data):
    big = ImageFactory(name="big", min_memory_mib=256)
    response = csrf_post(client_for(member), "/vms/new/", {**data, "image": str(big.pk), "memory_mib": "128"})
    assert response.status_code == 400
    assert "big needs at least 256 MiB." in field_errors(response, "memory_mib")
    assert not ResourceRequest.objects.exists()


def test_name_already_asked_for(client_for, member, data, team):
    ResourceRequestFactory(team=team, requested_by=member, name="web")
    response = csrf_post(client_for(member), "/vms/new/", data)
    assert response.status_code == 400
    assert "already has or is asking for a resource named 'web'" in field_errors(response, "name")
    assert ResourceRequest.objects.count() == 1


def test_over_quota_names_resource_and_amount(client_for, member, data, team):
    ResourceRequestFactory(team=team, requested_by=member, name="big", memory_mib=3968)
    response = csrf_post(client_for(member), "/vms/new/", {**data, "memory_mib": "256"})
    assert response.status_code == 400
    assert "Memory: over quota by 128 MiB" in field_errors(response, "memory_mib")
    assert ResourceRequest.objects.count() == 1
    assert not VirtualMachine.objects.exists()


def test_over_quota_page_does_not_claim_the_ask_fits(client_for, member, data, team):
    ResourceRequestFactory(team=team, requested_by=member, name="big", memory_mib=3968)
    response = csrf_post(client_for(member), "/vms/new/", {**data, "memory_mib": "256"})
    assert response.status_code == 400
    assert "This ask fits in the team's quota." not in text(response)
    assert "disabled" in submit_button(response)
    shortfalls = re.search(r'<ul class="errors" id="quota-shortfalls">(.*?)</ul>', response.content.decode(), re.S)
    assert shortfalls
    assert "Memory: over quota by 128 MiB" in html.unescape(shortfalls.group(1))


def test_over_vm_count_is_reported_at_top_of_form(client_for, member, data, team):
    team.quota.vm_count = 1
    team.quota.save()
    VirtualMachineFactory(team=team, name="only")
    response = csrf_post(client_for(member), "/vms/new/", data)
    assert response.status_code == 400
    errors = re.search(r'<div class="errors" id="form-errors">(.*?)</div>', response.content.decode(), re.S)
    assert errors
    assert "Virtual machines: over quota by 1" in html.unescape(errors.group(1))
    assert not ResourceRequest.objects.exists()


def test_over_several_resources_reports_each(client_for, member, data, team):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "vcpus": "10", "disk_gib": "150"})
    assert response.status_code == 400
    assert "vCPUs: over quota by 2" in field_errors(response, "vcpus")
    assert "Disk: over quota by 50 GiB" in field_errors(response, "disk_gib")
    assert not ResourceRequest.objects.exists()


# --- htmx quota preview ---


def test_preview_within_quota(client_for, member, data):
    response = csrf_post(client_for(member), "/vms/new/preview/", data, htmx=True)
    assert response.status_code == 200
    assert 'id="quota-preview"' in text(response)
    assert "Team blue after this ask" in text(response)
    assert "This ask fits in the team's quota." in text(response)
    button = submit_button(response)
    assert 'hx-swap-oob="true"' in button
    assert "disabled" not in button
    assert "<html" not in text(response), "a fragment, not a page"
    assert not ResourceRequest.objects.exists()


def test_preview_over_quota_disables_submit(client_for, member, data, team):
    ResourceRequestFactory(team=team, requested_by=member, name="big", memory_mib=3968)
    response = csrf_post(client_for(member), "/vms/new/preview/", {**data, "memory_mib": "256"}, htmx=True)
    assert response.status_code == 200
    shortfalls = re.search(r'<ul class="errors" id="quota-shortfalls">(.*?)</ul>', response.content.decode(), re.S)
    assert shortfalls
    assert "Memory: over quota by 128 MiB" in html.unescape(shortfalls.group(1))
    assert "disabled" in submit_button(response)
    assert ResourceRequest.objects.count() == 1


def test_preview_sends_field_errors_out_of_band(client_for, member, data):
    response = csrf_post(client_for(member), "/vms/new/preview/", {**data, "vcpus": "0", "name": "Bad Name"}, htmx=True)
    assert response.status_code == 200
    assert re.search(r'<div id="errors-vcpus" class="field-errors" hx-swap-oob="true">', response.content.decode())
    assert "greater than or equal to 1" in field_errors(response, "vcpus")
    assert "lowercase letters" in field_errors(response, "name")
    assert field_errors(response, "memory_mib") == ""
    assert "disabled" not in submit_button(response)


def test_full_form_disables_submit_when_over_quota(client_for, member, data, team):
    team.quota.vm_count = 0
    team.quota.save()
    response = client_for(member).get("/vms/new/")
    assert "disabled" in submit_button(response)
    assert "Virtual machines: over quota by 1" in text(response)


@pytest.mark.parametrize("network", ["9223372036854775808", "99999999999999999999999", "-1", "x"])
def test_a_network_id_no_row_can_have_is_a_field_error_not_a_500(client_for, member, team, image, network):
    """A hand-made POST: ids past 64 bits used to reach the database's IN list and fail there."""
    response = csrf_post(
        client_for(member),
        "/vms/new/",
        {"name": "web", "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
         "networks": [network], "justification": "tests"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "is not a valid value" in response.content.decode()
