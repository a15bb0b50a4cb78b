"""Portal pages: dashboard, requests, cancel and jobs — access, CSRF, rendering from rows, query counts, polling."""

import re

import pytest
from django.test import Client

from hypervisors.choices import HostJobAction
from portal.choices import JobState, RequestState, Role
from portal.jobs import job_create
from portal.models import AuditEvent, ResourceRequest
from tests.factories import (
    HostFactory,
    ImageFactory,
    MembershipFactory,
    ResourceRequestFactory,
    TeamFactory,
    UserFactory,
)
from tests.support.pages import HTMX, count_queries, csrf_post, text
from tests.support.rows import vm_with_job

pytestmark = pytest.mark.django_db


POLL = "every 2s"
BODY_CSRF = re.compile(r"<body hx-headers='\{\"X-CSRFToken\": \"([A-Za-z0-9]+)\"\}'>")


@pytest.fixture
def blue_rows(team, member):
    """A VM with its job and a pending request of the member's team."""
    vm, job = vm_with_job(team, member, name="blue-vm", state="building", job_state=JobState.RUNNING)
    pending = ResourceRequestFactory(team=team, requested_by=member, name="blue-ask")
    return {"vm": vm, "job": job, "pending": pending}


@pytest.fixture
def red_rows(red, outsider):
    """The same rows in the outsider's team, with names that must never leak."""
    vm, job = vm_with_job(red, outsider, name="red-secret-vm", state="building", job_state=JobState.RUNNING)
    pending = ResourceRequestFactory(team=red, requested_by=outsider, name="red-secret-ask")
    return {"vm": vm, "job": job, "pending": pending}


# --- access ---


def test_anonymous_is_sent_to_login_from_every_page(blue_rows):
    client = Client()
    job, pending = blue_rows["job"], blue_rows["pending"]
    for url in ("/", "/requests/", "/requests/?mine=1", f"/jobs/{job.pk}/"):
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            assert response.status_code == 302, url
            assert response.url.startswith("/accounts/login/?next="), url
    response = client.post(f"/requests/{pending.pk}/cancel/")
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next=/requests/{pending.pk}/cancel/"
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert admin.url.startswith("/admin/login/")


def test_login_page_renders_for_anonymous(no_hypervisor):
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert BODY_CSRF.search(response.content.decode())


def test_outsider_gets_404_for_job_and_cancel(client_for, outsider, blue_rows):
    client = client_for(outsider)
    job, pending = blue_rows["job"], blue_rows["pending"]
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/", headers=HTMX).status_code == 404
    assert csrf_post(client, f"/requests/{pending.pk}/cancel/").status_code == 404
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING
    assert not AuditEvent.objects.filter(action="request.cancel").exists()


def test_outsider_gets_404_for_every_vm_url(client_for, outsider, blue_rows):
    client = client_for(outsider)
    vm = blue_rows["vm"]
    assert client.get(f"/vms/{vm.uuid}/").status_code == 404
    assert client.get(f"/vms/{vm.uuid}/", headers=HTMX).status_code == 404


def test_unknown_ids_are_404(client_for, member):
    client = client_for(member)
    assert client.get("/jobs/999999/").status_code == 404
    assert csrf_post(client, "/requests/999999/cancel/").status_code == 404


def test_job_without_team_is_hidden_from_members(client_for, member):
    job = job_create(action=HostJobAction.HOST_PROBE, team=None, requested_by=None, target=HostFactory())
    assert client_for(member).get(f"/jobs/{job.pk}/").status_code == 404


def test_lists_never_show_another_teams_rows(client_for, member, blue_rows, red_rows):
    client = client_for(member)
    for url in ("/", "/requests/", "/requests/?mine=1", "/vms/"):
        page = text(client.get(url))
        assert "red-secret" not in page, url
        assert "Team red" not in page, url
        assert str(red_rows["vm"].uuid) not in page, url
        assert f"/jobs/{red_rows['job'].pk}/" not in page, url
    dashboard = client.get("/")
    assert "blue-vm" in text(dashboard)
    assert "blue-ask" in text(dashboard)
    assert [team.name for team, _ in dashboard.context["teams"]] == ["blue"]
    assert {r.team.name for r in dashboard.context["requests"]} == {"blue"}
    assert {j.team.name for j in dashboard.context["jobs"]} == {"blue"}
    assert {v.team.name for v in dashboard.context["vms"]} == {"blue"}
    requests_page = client.get("/requests/")
    assert {r.team.name for r in requests_page.context["requests"]} == {"blue"}


def test_mine_filter_shows_only_own_requests(client_for, member, team):
    ResourceRequestFactory(team=team, requested_by=member, name="mine")
    ResourceRequestFactory(team=team, requested_by=UserFactory(username="colleague"), name="theirs")
    client = client_for(member)
    assert {r.name for r in client.get("/requests/").context["requests"]} == {"mine", "theirs"}
    assert {r.name for r in client.get("/requests/?mine=1").context["requests"]} == {"mine"}


def test_viewer_cannot_cancel_anothers_request(client_for, viewer, blue_rows):
    pending = blue_rows["pending"]
    response = csrf_post(client_for(viewer), f"/requests/{pending.pk}/cancel/", follow=True)
    assert response.status_code == 200
    assert "Only the person who asked or a team admin may cancel this request." in text(response)
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING
    assert not AuditEvent.objects.filter(action="request.cancel").exists()


def test_other_member_cannot_cancel_but_team_admin_can(client_for, team, team_admin, blue_rows):
    colleague = UserFactory(username="colleague")
    MembershipFactory(user=colleague, team=team, role=Role.MEMBER)
    pending = blue_rows["pending"]
    csrf_post(client_for(colleague), f"/requests/{pending.pk}/cancel/")
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING
    csrf_post(client_for(team_admin), f"/requests/{pending.pk}/cancel/")
    pending.refresh_from_db()
    assert pending.state == RequestState.CANCELLED


def test_cancel_is_post_only(client_for, member, blue_rows):
    pending = blue_rows["pending"]
    assert client_for(member).get(f"/requests/{pending.pk}/cancel/").status_code == 405
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING


# --- CSRF ---


def test_pages_carry_the_csrf_token_for_htmx_on_body(client_for, member, blue_rows):
    client = client_for(member)
    for url in ("/", "/requests/", f"/jobs/{blue_rows['job'].pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert BODY_CSRF.search(response.content.decode()), url
    assert "csrftoken" in client.cookies


def test_cancel_without_csrf_token_is_refused(client_for, member, blue_rows):
    pending = blue_rows["pending"]
    response = client_for(member).post(f"/requests/{pending.pk}/cancel/")
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING


def test_cancel_with_token_from_the_rendered_form(client_for, member, blue_rows):
    client = client_for(member)
    pending = blue_rows["pending"]
    page = client.get("/requests/").content.decode()
    form = re.search(
        rf'<form method="post" action="/requests/{pending.pk}/cancel/"><input type="hidden" '
        r'name="csrfmiddlewaretoken" value="([^"]+)">',
        page,
    )
    assert form, "the cancel button carries its CSRF token"
    response = client.post(f"/requests/{pending.pk}/cancel/", {"csrfmiddlewaretoken": form.group(1)})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == RequestState.CANCELLED


def test_cancel_with_the_header_htmx_sends(client_for, member, blue_rows):
    client = client_for(member)
    pending = blue_rows["pending"]
    token = BODY_CSRF.search(client.get("/").content.decode()).group(1)
    response = client.post(f"/requests/{pending.pk}/cancel/", headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == RequestState.CANCELLED


def test_wrong_csrf_token_is_refused(client_for, member, blue_rows):
    client = client_for(member)
    client.get("/")
    pending = blue_rows["pending"]
    response = client.post(f"/requests/{pending.pk}/cancel/", headers={"X-CSRFToken": "x" * 64})
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING


# --- cancel ---


def test_author_cancels_pending_request_and_frees_quota(client_for, member, team, image):
    full = ResourceRequestFactory(team=team, requested_by=member, name="full", memory_mib=4096)
    client = client_for(member)
    ask = {
        "name": "next",
        "team": str(team.pk),
        "image": str(image.pk),
        "vcpus": "1",
        "memory_mib": "4096",
        "disk_gib": "1",
        "justification": "after the cancel",
    }
    assert csrf_post(client, "/vms/new/", ask).status_code == 400, "the quota is taken by the pending ask"

    response = csrf_post(client, f"/requests/{full.pk}/cancel/", follow=True)
    assert response.redirect_chain == [("/requests/", 302)]
    assert "Request for full cancelled." in text(response)
    full.refresh_from_db()
    assert full.state == RequestState.CANCELLED
    assert full.finished_at is not None
    assert AuditEvent.objects.filter(action="request.cancel", target_id=str(full.pk), actor=member).exists()
    # the cancelled request no longer shows a cancel button
    assert f"/requests/{full.pk}/cancel/" not in response.content.decode()

    assert csrf_post(client, "/vms/new/", ask).status_code == 302, "the freed quota takes a new ask"
    assert ResourceRequest.objects.get(name="next").state == RequestState.PENDING


@pytest.mark.parametrize(
    "state",
    [
        RequestState.APPROVED,
        RequestState.REJECTED,
        RequestState.CANCELLED,
        RequestState.PROVISIONING,
        RequestState.FULFILLED,
        RequestState.FAILED,
    ],
)
def test_cancelling_a_non_pending_request_changes_nothing(client_for, member, team, state):
    request = ResourceRequestFactory(team=team, requested_by=member, name="done", state=state)
    response = csrf_post(client_for(member), f"/requests/{request.pk}/cancel/", follow=True)
    assert response.status_code == 200
    label = RequestState(state).label.lower()
    assert f"A request that is {label} cannot become cancelled." in text(response)
    assert 'class="message error"' in response.content.decode()
    request.refresh_from_db()
    assert request.state == state
    assert request.finished_at is None
    assert not AuditEvent.objects.filter(action="request.cancel").exists()


# --- no hypervisor while rendering ---


def test_pages_render_from_rows_alone(no_hypervisor, client_for, member, team):
    host = HostFactory(uri="qemu+ssh://root@unreachable/system")
    vm, job = vm_with_job(team, member, name="built", host=host, image=ImageFactory())
    building, running_job = vm_with_job(team, member, name="building", state="building", job_state=JobState.RUNNING)
    ResourceRequestFactory(team=team, requested_by=member, name="waiting")
    ResourceRequestFactory(team=team, requested_by=member, name="no", state=RequestState.REJECTED)
    client = client_for(member)
    for url in ("/", "/requests/", "/requests/?mine=1", f"/jobs/{job.pk}/", f"/jobs/{running_job.pk}/"):
        assert client.get(url).status_code == 200, url
    for url in (f"/jobs/{job.pk}/", f"/jobs/{running_job.pk}/", f"/vms/{vm.uuid}/", f"/vms/{building.uuid}/"):
        assert client.get(url, headers=HTMX).status_code == 200, url
    for url in ("/vms/", f"/vms/{vm.uuid}/", "/vms/new/"):
        assert client.get(url).status_code == 200, url


# --- query counts ---


def add_rows(team, member, count, start):
    """VMs with hosts, images, requests and jobs, plus pending and rejected requests."""
    for i in range(start, start + count):
        colleague = UserFactory(username=f"colleague{i}")
        host = HostFactory(uri=f"qemu+ssh://root@host{i}/system")
        vm_with_job(team, colleague, name=f"vm-{i}", host=host, image=ImageFactory())
        ResourceRequestFactory(team=team, requested_by=member, name=f"ask-{i}")
        ResourceRequestFactory(
            team=team, requested_by=colleague, name=f"no-{i}", state=RequestState.REJECTED, decided_by=member
        )


@pytest.mark.parametrize("url", ["/", "/requests/", "/requests/?mine=1", "/vms/"])
def test_list_queries_do_not_grow_with_rows(client_for, member, team, url):
    client = client_for(member)
    add_rows(team, member, 1, 0)
    client.get(url)  # warm caches (content types, session)
    one = count_queries(client, url)
    add_rows(team, member, 49, 1)
    fifty = count_queries(client, url)
    assert one == fifty


def test_dashboard_queries_do_not_grow_with_teams(client_for, member, team):
    client = client_for(member)
    client.get("/")
    one = count_queries(client, "/")
    for i in range(5):
        other = TeamFactory(name=f"extra{i}", slug=f"extra{i}")
        MembershipFactory(user=member, team=other, role=Role.MEMBER)
        add_rows(other, member, 2, 100 + 10 * i)
    assert count_queries(client, "/") == one


def test_job_page_queries_do_not_grow_with_log(client_for, member, team):
    _, job = vm_with_job(team, member)
    client = client_for(member)
    client.get(f"/jobs/{job.pk}/")
    before = count_queries(client, f"/jobs/{job.pk}/")
    job.log = [{"time": "2026-01-01T00:00:00", "message": f"step {i}"} for i in range(50)]
    job.save(update_fields=["log"])
    assert count_queries(client, f"/jobs/{job.pk}/") == before


# --- job polling ---


@pytest.mark.parametrize(
    ("state", "polls"),
    [(JobState.QUEUED, True), (JobState.RUNNING, True), (JobState.SUCCEEDED, False), (JobState.FAILED, False)],
)
def test_job_fragment_polls_until_finished(client_for, member, team, state, polls):
    _, job = vm_with_job(team, member, job_state=state)
    client = client_for(member)
    fragment = client.get(f"/jobs/{job.pk}/", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith(f'<div id="job-{job.pk}"')
    assert "<body" not in body
    assert (POLL in body) is polls
    assert (POLL in body) is polls
    if polls:
        assert f'hx-get="/jobs/{job.pk}/"' in body
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<body" in page
    assert (POLL in page) is polls


def test_job_page_shows_progress_steps_and_error(client_for, member, team):
    _, job = vm_with_job(team, member, job_state=JobState.FAILED)
    job.progress = 40
    job.error = "Disk <full>"
    job.log.append({"time": "2026-01-01T00:00:00", "message": "Creating a 1 GiB qcow2 disk"})
    job.save()
    body = client_for(member).get(f"/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert 'value="40"' in body
    assert "Creating a 1 GiB qcow2 disk" in body
    assert "Disk &lt;full&gt;" in body
