"""VM pages: access, CSRF, no hypervisor while rendering, query counts, polling."""

import re

import pytest
from django.test import Client

from hypervisors.choices import VMJobAction
from hypervisors.models import VirtualMachine
from portal.choices import JobState, RequestState, Role
from portal.jobs import job_create
from portal.models import ResourceRequest, Team
from tests.factories import (
    HostFactory,
    ImageFactory,
    MembershipFactory,
    ResourceRequestFactory,
    UserFactory,
    VirtualMachineFactory,
)
from tests.support.pages import HTMX, count_queries, csrf_post, field_errors, text
from tests.support.rows import vm_with_job

pytestmark = pytest.mark.django_db


# --- access ---


def test_anonymous_is_sent_to_login_from_every_vm_page(blue_vm, data):
    client = Client()
    pages = [
        ("get", "/vms/"),
        ("get", f"/vms/{blue_vm.uuid}/"),
        ("get", "/vms/new/"),
        ("post", "/vms/new/"),
        ("post", "/vms/new/preview/"),
    ]
    for method, url in pages:
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code == 302, url
        assert response.url.startswith(f"/accounts/login/?next={url}"), url
        htmx_response = getattr(client, method)(url, data if method == "post" else None, headers=HTMX)
        assert htmx_response.status_code == 302, url
    assert not ResourceRequest.objects.filter(name="web").exists()


def test_outsider_gets_404_for_vm_page_and_fragment(client_for, outsider, blue_vm):
    client = client_for(outsider)
    assert client.get(f"/vms/{blue_vm.uuid}/").status_code == 404
    response = client.get(f"/vms/{blue_vm.uuid}/", headers=HTMX)
    assert response.status_code == 404
    assert "blue-vm" not in text(response)


def test_unknown_vm_uuid_is_404(client_for, member):
    client = client_for(member)
    assert client.get("/vms/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/vms/not-a-uuid/").status_code == 404


def test_vm_list_shows_only_own_teams(client_for, member, blue_vm, red_vm):
    response = client_for(member).get("/vms/")
    assert response.status_code == 200
    assert "blue-vm" in text(response)
    assert "red-secret-vm" not in text(response)
    assert str(red_vm.uuid) not in text(response)
    assert list(response.context["vms"]) == [blue_vm]


def test_viewer_sees_team_vms(client_for, viewer, blue_vm):
    assert client_for(viewer).get(f"/vms/{blue_vm.uuid}/").status_code == 200


def test_viewer_is_told_they_need_a_role(client_for, viewer):
    response = client_for(viewer).get("/vms/new/")
    assert response.status_code == 200
    assert "You need the member or team admin role in a team to ask for a VM." in text(response)
    assert 'id="submit-request"' not in text(response)


def test_viewer_post_is_refused_and_creates_nothing(client_for, viewer, data):
    response = csrf_post(client_for(viewer), "/vms/new/", data)
    assert response.status_code == 400
    assert "team" in response.context["form"].errors
    assert not ResourceRequest.objects.exists()
    assert not VirtualMachine.objects.exists()


def test_outsider_cannot_ask_in_another_team(client_for, outsider, data):
    response = csrf_post(client_for(outsider), "/vms/new/", data)
    assert response.status_code == 400
    assert "Select a valid choice" in field_errors(response, "team")
    assert not ResourceRequest.objects.exists()


def test_outsider_preview_never_shows_another_team(client_for, outsider, data, team):
    ResourceRequestFactory(team=team, requested_by=UserFactory(), memory_mib=4000)
    response = csrf_post(client_for(outsider), "/vms/new/preview/", data, htmx=True)
    assert response.status_code == 200
    assert "Team blue" not in text(response)
    assert "Team red" in text(response)


# --- CSRF ---


def test_every_page_carries_the_csrf_header_for_htmx(client_for, member, blue_vm):
    client = client_for(member)
    for url in ("/vms/", f"/vms/{blue_vm.uuid}/", "/vms/new/"):
        response = client.get(url)
        match = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([A-Za-z0-9]+)\"\}'>", response.content.decode())
        assert match, url


def test_ask_without_csrf_token_is_refused(client_for, member, data):
    response = client_for(member).post("/vms/new/", data)
    assert response.status_code == 403
    assert not ResourceRequest.objects.exists()


def test_ask_with_token_from_rendered_form(client_for, member, data):
    client = client_for(member)
    page = client.get("/vms/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/vms/new/", {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert ResourceRequest.objects.filter(name="web", state=RequestState.PENDING).exists()


def test_preview_needs_csrf_and_accepts_the_htmx_header(client_for, member, data):
    client = client_for(member)
    assert client.post("/vms/new/preview/", data, headers=HTMX).status_code == 403
    page = client.get("/vms/new/").content.decode()
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([A-Za-z0-9]+)\"\}'>", page).group(1)
    response = client.post("/vms/new/preview/", data, headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert 'id="quota-preview"' in text(response)


# --- no hypervisor while rendering ---


def test_vm_pages_render_from_rows_alone(no_hypervisor, client_for, member, team, data):
    building, _ = vm_with_job(team, member, name="building", state="building", job_state=JobState.RUNNING)
    running, _ = vm_with_job(team, member, name="running", host=HostFactory(uri="qemu+ssh://root@nowhere/system"))
    ResourceRequestFactory(team=team, requested_by=member, name="pending-one")
    client = client_for(member)
    for url in ("/vms/", f"/vms/{building.uuid}/", f"/vms/{running.uuid}/", "/vms/new/"):
        assert client.get(url).status_code == 200, url
    for url in (f"/vms/{building.uuid}/", f"/vms/{running.uuid}/"):
        assert client.get(url, headers=HTMX).status_code == 200, url
    assert csrf_post(client, "/vms/new/preview/", data, htmx=True).status_code == 200
    assert csrf_post(client, "/vms/new/", {**data, "vcpus": "0"}).status_code == 400
    assert csrf_post(client, "/vms/new/", data).status_code == 302


# --- query counts ---


def test_vm_list_queries_do_not_grow_with_vms(client_for, member, team):
    host, image = HostFactory(), ImageFactory()
    team.quota.vm_count = 100
    team.quota.save()
    client = client_for(member)
    vm_with_job(team, member, host=host, image=image)
    client.get("/vms/")  # warm caches (content types, session)
    one = count_queries(client, "/vms/")
    for i in range(49):
        vm_with_job(team, member, host=HostFactory(uri=f"qemu+ssh://root@host{i}/system"), image=ImageFactory())
    fifty = count_queries(client, "/vms/")
    assert VirtualMachine.objects.count() == 50
    assert one == fifty


def test_vm_detail_queries_are_constant(client_for, member, team):
    vm, _ = vm_with_job(team, member, host=HostFactory(), image=ImageFactory())
    client = client_for(member)
    client.get(f"/vms/{vm.uuid}/")
    before = count_queries(client, f"/vms/{vm.uuid}/")
    for _ in range(20):
        job_create(action=VMJobAction.VM_PROVISION, team=team, requested_by=member, target=vm)
    assert count_queries(client, f"/vms/{vm.uuid}/") == before


# --- polling ---


POLL = "every 2s"


@pytest.mark.parametrize(
    ("vm_state", "job_state", "polls"),
    [
        ("building", JobState.QUEUED, True),
        ("building", JobState.RUNNING, True),
        ("running", JobState.RUNNING, True),
        ("building", JobState.SUCCEEDED, True),
        ("running", JobState.SUCCEEDED, False),
        ("shutoff", JobState.FAILED, False),
    ],
)
def test_vm_status_fragment_polls_while_work_goes_on(client_for, member, team, vm_state, job_state, polls):
    vm, job = vm_with_job(team, member, state=vm_state, job_state=job_state)
    client = client_for(member)
    fragment = client.get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="vm-status"')
    assert "<body" not in body
    assert (POLL in body) is polls
    assert (POLL in body) is polls
    if polls:
        assert f'hx-get="/vms/{vm.uuid}/"' in body or f'hx-get="/jobs/{job.pk}/"' in body
    page = client.get(f"/vms/{vm.uuid}/").content.decode()
    assert "<body" in page
    assert (POLL in page) is polls


def test_building_vm_without_job_polls(client_for, member, team):
    vm = VirtualMachineFactory(team=team, state="building")
    body = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX).content.decode()
    assert f'hx-get="/vms/{vm.uuid}/"' in body
    assert POLL in body


def test_vm_status_shows_latest_job(client_for, member, team):
    vm, old = vm_with_job(team, member, state="running", job_state=JobState.FAILED)
    new = job_create(action=VMJobAction.VM_PROVISION, team=team, requested_by=member, target=vm)
    body = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX).content.decode()
    assert f'id="job-{new.pk}"' in body
    assert f'id="job-{old.pk}"' not in body
    assert POLL in body


def test_team_admin_of_other_team_still_gets_404(client_for, team, blue_vm):
    other_admin = UserFactory(username="other-admin")
    MembershipFactory(user=other_admin, team=Team.objects.create(name="green", slug="green"), role=Role.TEAM_ADMIN)
    assert client_for(other_admin).get(f"/vms/{blue_vm.uuid}/", headers=HTMX).status_code == 404
