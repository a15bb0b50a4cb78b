"""Asking for a container in the page: bad input is a field error, and the quota preview and submit.

Every test here runs with ``no_hypervisor``: a page that tried to reach Docker would fail.
"""

from __future__ import annotations

import pytest

from containers.choices import ContainerKind
from containers.models import Container
from portal.models import ResourceRequest
from tests.support.pages import csrf_post, field_errors, submit_button, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "log_store")]


# --- asking for a container: bad input ---

BAD_INPUT = [
    ("name", "<script>alert(1)</script>", "lowercase letters, digits and hyphens"),
    ("name", "it's", "lowercase letters, digits and hyphens"),
    ("name", "]]>", "lowercase letters, digits and hyphens"),
    ("name", "ünïcödé", "lowercase letters, digits and hyphens"),
    ("name", "Web", "lowercase letters, digits and hyphens"),
    ("name", "-web", "lowercase letters, digits and hyphens"),
    ("name", "a" * 300, "at most 63 characters"),
    ("name", "", "This field is required."),
    ("cpus", "0", "greater than or equal to 0.01"),
    ("cpus", "-1", "greater than or equal to 0.01"),
    ("cpus", "1e30", "less than or equal to 64"),
    ("cpus", "65", "less than or equal to 64"),
    ("cpus", "0.001", "no more than 2 decimal places"),
    ("cpus", "lots", "Enter a number."),
    ("cpus", "NaN", "Enter a number."),
    ("cpus", "Infinity", "Enter a number."),
    ("memory_mib", "0", "greater than or equal to 6"),
    ("memory_mib", "5", "greater than or equal to 6"),
    ("memory_mib", "-64", "greater than or equal to 6"),
    ("memory_mib", "99999999999999999999", "less than or equal to 262144"),
    ("memory_mib", "64.5", "Enter a whole number."),
    ("memory_mib", "sixty", "Enter a whole number."),
    ("environment", "not a variable", "Line 1: write NAME=value"),
    ("environment", "A=1\nA=2", "Line 2: A is set twice."),
    ("environment", "<b>=1", "Line 1: write NAME=value"),
    ("ports", "80:80", "host ports go from 1024 to 65535"),
    ("ports", "99999:80", "host ports go from 1024 to 65535"),
    ("ports", "8080:80\n8080:81", "host port 8080/tcp is listed twice"),
    ("ports", "<script>:80", "write HOST:CONTAINER"),
    ("command", "echo 'unclosed", "The command cannot be split into arguments"),
    ("restart_policy", "sometimes", "Select a valid choice."),
    ("justification", "", "This field is required."),
]


@pytest.mark.parametrize(("field", "value", "error"), BAD_INPUT, ids=lambda v: str(v)[:20])
def test_bad_input_is_400_with_the_error_by_its_field_and_nothing_created(
    client_for, member, data, field, value, error
):
    response = csrf_post(client_for(member), "/containers/new/", {**data, field: value})
    assert response.status_code == 400
    assert error in field_errors(response, field)
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "<script>:80" not in response.content.decode()
    assert not ResourceRequest.objects.exists()
    assert not Container.objects.exists()


def test_a_good_ask_is_accepted(client_for, member, data):
    response = csrf_post(client_for(member), "/containers/new/", data)
    assert response.status_code == 302
    request = ResourceRequest.objects.get(kind=ContainerKind.CONTAINER)
    assert request.spec["command"] == ["sleep", "3600"]


def test_name_taken_in_the_team_is_refused(client_for, member, data, blue_container):
    response = csrf_post(client_for(member), "/containers/new/", {**data, "name": "blue-web"})
    assert response.status_code == 400
    assert "already has or is asking for a resource named 'blue-web'" in text(response)
    assert not ResourceRequest.objects.filter(state="pending").exists()


# --- quota: preview and submit ---


def preview(client, data):
    return csrf_post(client, "/containers/new/preview/", data, htmx=True)


def test_preview_shows_the_quota_panel_and_an_enabled_submit(client_for, member, data):
    response = preview(client_for(member), data)
    assert response.status_code == 200
    page = text(response)
    assert "Team blue after this ask" in page
    assert "Containers" in page
    assert "This ask fits in the team's quota." in page
    assert "disabled" not in submit_button(response)


@pytest.mark.parametrize(
    ("changes", "shortfall"),
    [
        ({"cpus": "9"}, "vCPUs: over quota by 1 (asked 9, 8 left)"),
        ({"memory_mib": "5000"}, "Memory: over quota by 904 MiB (asked 5000 MiB, 4096 MiB left)"),
    ],
)
def test_preview_disables_submit_over_cpu_or_memory(client_for, member, data, changes, shortfall):
    response = preview(client_for(member), {**data, **changes})
    assert shortfall in text(response)
    assert 'id="quota-shortfalls"' in response.content.decode()
    assert "disabled" in submit_button(response)


def test_preview_disables_submit_over_the_container_count(client_for, member, team, data, blue_container):
    team.quota.container_count = 1
    team.quota.save()
    response = preview(client_for(member), data)
    assert "Containers: over quota by 1 (asked 1, 0 left)" in text(response)
    assert "disabled" in submit_button(response)


def test_preview_counts_pending_asks(client_for, member, team, data):
    from tests.factories import ResourceRequestFactory

    ResourceRequestFactory(team=team, kind=ContainerKind.CONTAINER, name="pending-one", vcpus=7, memory_mib=64)
    response = preview(client_for(member), {**data, "cpus": "1.5"})
    assert "vCPUs: over quota by 0.5 (asked 1.5, 1 left)" in text(response)
    assert "disabled" in submit_button(response)


def test_submit_over_quota_is_400_and_creates_nothing(client_for, member, team, data, blue_container):
    team.quota.container_count = 1
    team.quota.save()
    response = csrf_post(client_for(member), "/containers/new/", data)
    assert response.status_code == 400
    assert "Containers: over quota by 1" in text(response)
    assert not ResourceRequest.objects.filter(name="web").exists()


def test_submit_over_memory_shows_the_error_by_the_memory_field(client_for, member, data):
    response = csrf_post(client_for(member), "/containers/new/", {**data, "memory_mib": "5000"})
    assert response.status_code == 400
    assert "Memory: over quota by 904 MiB" in field_errors(response, "memory_mib")
    assert not ResourceRequest.objects.exists()


def test_submit_over_cpu_shows_the_error_by_the_cpus_field(client_for, member, data):
    response = csrf_post(client_for(member), "/containers/new/", {**data, "cpus": "9"})
    assert response.status_code == 400
    assert "vCPUs: over quota by 1" in field_errors(response, "cpus")
