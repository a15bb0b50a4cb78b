"""Container pages: access, CSRF, lists, the detail page, and no engine contacted while rendering.

Every test here runs with ``no_hypervisor``: a page that tried to reach Docker would fail.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from containers.choices import ContainerJobAction
from containers.models import Container
from portal.choices import JobState
from portal.jobs import job_create
from portal.models import AuditEvent, Job, ResourceRequest
from tests.support.container_rows import image_row, make_container
from tests.support.pages import HTMX, count_queries, csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "log_store")]

SLUGS = ["start", "stop", "restart", "pause", "unpause", "remove"]


def container_jobs(container) -> list[Job]:
    return list(Job.objects.filter(target_type__model="container", target_id=str(container.pk)))


# --- access ---


def test_anonymous_is_sent_to_login_from_every_container_page(blue_container, data):
    client = Client()
    pk = blue_container.pk
    pages = [
        ("get", "/containers/"),
        ("get", f"/containers/{pk}/"),
        ("get", f"/containers/{pk}/logs/"),
        ("post", f"/containers/{pk}/logs/"),
        ("post", f"/containers/{pk}/actions/stop/"),
        ("get", "/containers/new/"),
        ("post", "/containers/new/"),
        ("post", "/containers/new/preview/"),
    ]
    for method, url in pages:
        response = getattr(client, method)(url, data if url.startswith("/containers/new") else None)
        assert response.status_code == 302, url
        assert response.url.startswith(f"/accounts/login/?next={url}"), url
    assert len(container_jobs(blue_container)) == 1
    assert not ResourceRequest.objects.filter(name="web").exists()


def test_outsider_gets_404_everywhere_and_learns_nothing(client_for, outsider, blue_container, sent):
    client = client_for(outsider)
    pk = blue_container.pk
    for response in (
        client.get(f"/containers/{pk}/"),
        client.get(f"/containers/{pk}/", headers=HTMX),
        client.get(f"/containers/{pk}/logs/"),
        csrf_post(client, f"/containers/{pk}/logs/"),
        csrf_post(client, f"/containers/{pk}/logs/", htmx=True),
        *(csrf_post(client, f"/containers/{pk}/actions/{slug}/") for slug in SLUGS),
        *(csrf_post(client, f"/containers/{pk}/actions/{slug}/", htmx=True) for slug in SLUGS),
    ):
        assert response.status_code == 404, response.request["PATH_INFO"]
        assert "blue-web" not in text(response)
    assert len(container_jobs(blue_container)) == 1, "only the provisioning job"
    assert not AuditEvent.objects.filter(action__startswith="container.").exists()
    assert sent == []


def test_unknown_container_is_404(client_for, member):
    client = client_for(member)
    assert client.get("/containers/999999999/").status_code == 404
    assert client.get("/containers/999999999/logs/").status_code == 404
    assert csrf_post(client, "/containers/999999999/actions/stop/").status_code == 404


def test_htmx_poll_of_a_removed_container_moves_the_page_to_the_requests(client_for, member, blue_container):
    client = client_for(member)
    pk = blue_container.pk
    blue_container.delete()
    response = client.get(f"/containers/{pk}/", headers=HTMX)
    assert response.status_code == 404
    assert response["HX-Redirect"] == "/requests/"


def test_viewer_sees_the_container_but_no_buttons(client_for, viewer, blue_container):
    response = client_for(viewer).get(f"/containers/{blue_container.pk}/")
    assert response.status_code == 200
    assert "blue-web" in text(response)
    assert "/actions/" not in text(response)
    assert response.context["actions"] == []


@pytest.mark.parametrize("slug", SLUGS)
def test_viewer_cannot_act(client_for, viewer, blue_container, sent, slug):
    client = client_for(viewer)
    for htmx in (False, True):
        response = csrf_post(client, f"/containers/{blue_container.pk}/actions/{slug}/", htmx=htmx)
        assert response.status_code == 403
    assert len(container_jobs(blue_container)) == 1
    assert sent == []
    blue_container.refresh_from_db()
    assert blue_container.state == "running"


def test_viewer_reads_kept_output_but_cannot_start_following(client_for, viewer, blue_container, sent, log_store):
    client = client_for(viewer)
    assert client.get(f"/containers/{blue_container.pk}/logs/").status_code == 200
    response = csrf_post(client, f"/containers/{blue_container.pk}/logs/", htmx=True)
    assert response.status_code == 403
    assert "member role" in text(response)
    assert sent == []
    assert not log_store.follower(blue_container.pk)


def test_member_sees_the_buttons_the_state_allows(client_for, member, blue_container):
    response = client_for(member).get(f"/containers/{blue_container.pk}/")
    assert [a.slug for a in response.context["actions"]] == ["stop", "restart", "pause", "remove"]
    for slug in ("stop", "restart", "pause", "remove"):
        assert f"/containers/{blue_container.pk}/actions/{slug}/" in text(response)
    assert "/actions/start/" not in text(response)


def test_member_action_queues_one_job_after_commit(
    client_for, member, blue_container, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client_for(member), f"/containers/{blue_container.pk}/actions/stop/", htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "container-changed"
    job = Job.objects.get(action=ContainerJobAction.CONTAINER_STOP)
    assert job.state == JobState.QUEUED
    assert job.requested_by == member
    assert sent == [
        {"task": "containers.tasks.container_operate", "args": (job.pk,), "task_id": str(job.celery_task_id)}
    ]
    assert "An operation is running" in text(response), "no buttons while the job runs"
    assert "every 2s" in text(response)
    assert AuditEvent.objects.filter(action="container.stop", actor=member).exists()


def test_member_action_without_htmx_redirects_with_a_message(client_for, member, blue_container, sent):
    response = csrf_post(client_for(member), f"/containers/{blue_container.pk}/actions/pause/", follow=True)
    assert response.redirect_chain[-1][0] == f"/containers/{blue_container.pk}/"
    assert "Queued; the page follows its progress." in text(response)


def test_action_the_state_refuses_is_explained_and_nothing_queued(client_for, member, blue_container, sent):
    response = csrf_post(client_for(member), f"/containers/{blue_container.pk}/actions/start/", htmx=True)
    assert response.status_code == 200
    assert "A container that is running cannot be asked to start." in text(response)
    assert len(container_jobs(blue_container)) == 1
    assert sent == []


def test_unknown_action_is_explained(client_for, member, blue_container, sent):
    response = csrf_post(client_for(member), f"/containers/{blue_container.pk}/actions/explode/", htmx=True)
    assert "There is no container action 'explode'." in text(response)
    assert len(container_jobs(blue_container)) == 1


def test_actions_are_post_only(client_for, member, blue_container):
    assert client_for(member).get(f"/containers/{blue_container.pk}/actions/stop/").status_code == 405


# --- CSRF ---


def test_every_container_page_carries_the_csrf_header_for_htmx(client_for, member, blue_container):
    client = client_for(member)
    for url in ("/containers/", f"/containers/{blue_container.pk}/", "/containers/new/", "/"):
        response = client.get(url)
        assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]+\"\}'>", response.content.decode()), url


def test_posts_without_a_csrf_token_are_refused(client_for, member, blue_container, data, sent):
    client = client_for(member)
    pk = blue_container.pk
    for url in (
        f"/containers/{pk}/actions/stop/",
        f"/containers/{pk}/logs/",
        "/containers/new/",
        "/containers/new/preview/",
    ):
        assert client.post(url, data if "new" in url else {}, headers=HTMX).status_code == 403, url
    assert len(container_jobs(blue_container)) == 1
    assert not ResourceRequest.objects.filter(name="web").exists()
    assert sent == []


def test_post_with_a_token_from_another_session_is_refused(client_for, member, staff, blue_container):
    other = client_for(staff)
    other.get("/")
    token = other.cookies["csrftoken"].value
    response = client_for(member).post(
        f"/containers/{blue_container.pk}/actions/stop/", {}, headers={"X-CSRFToken": token, **HTMX}
    )
    assert response.status_code == 403


# --- lists and dashboard ---


def test_list_shows_only_own_teams_containers(client_for, member, blue_container, red_container):
    response = client_for(member).get("/containers/")
    assert response.status_code == 200
    assert list(response.context["containers"]) == [blue_container]
    assert "blue-web" in text(response)
    assert "red-secret" not in text(response)
    assert "red/app:1" not in text(response)


def test_dashboard_shows_only_own_teams_containers(client_for, member, outsider, blue_container, red_container):
    response = client_for(member).get("/")
    assert list(response.context["containers"]) == [blue_container]
    assert "blue-web" in text(response)
    assert "red-secret" not in text(response)
    response = client_for(outsider).get("/")
    assert list(response.context["containers"]) == [red_container]
    assert "blue-web" not in text(response)


def test_viewer_sees_team_containers_in_the_list(client_for, viewer, blue_container):
    assert list(client_for(viewer).get("/containers/").context["containers"]) == [blue_container]


@pytest.mark.parametrize("url", ["/containers/", "/"])
def test_queries_do_not_grow_with_containers(client_for, member, team, docker_host, busybox_row, url):
    client = client_for(member)
    make_container(team, member, docker_host=docker_host, image=busybox_row, name="c0")
    client.get(url)  # warm caches (content types, session)
    one = count_queries(client, url)
    for i in range(1, 40):
        image = image_row(docker_host, f"blue/img{i}:1", team)
        make_container(team, member, docker_host=docker_host, image=image, name=f"c{i}", state="exited")
    forty = count_queries(client, url)
    assert Container.objects.count() == 40
    assert one == forty


def test_detail_queries_do_not_grow_with_jobs(client_for, member, team, blue_container):
    client = client_for(member)
    client.get(f"/containers/{blue_container.pk}/")
    before = count_queries(client, f"/containers/{blue_container.pk}/")
    for _ in range(20):
        job_create(action=ContainerJobAction.CONTAINER_RESTART, team=team, requested_by=member, target=blue_container)
    Job.objects.filter(action=ContainerJobAction.CONTAINER_RESTART).update(state=JobState.SUCCEEDED)
    assert count_queries(client, f"/containers/{blue_container.pk}/") == before


# --- the detail page ---


def test_detail_shows_the_spec_but_never_environment_values(client_for, member, blue_container):
    page = text(client_for(member).get(f"/containers/{blue_container.pk}/"))
    assert "DB_PASSWORD" in page
    assert "hunter2-secret-value" not in page
    assert "httpd -f -p 8080" in page
    assert f"{blue_container.team.slug}.blue-web" in page
    assert "No output fetched yet." in page


def test_detail_polls_only_while_something_happens(client_for, member, team, docker_host, busybox_row, log_store):
    creating = make_container(
        team, member, docker_host=docker_host, image=busybox_row, name="new", state="creating", job_state="queued"
    )
    log_store.track(creating.pk)
    client = client_for(member)
    assert "every 2s" in text(client.get(f"/containers/{creating.pk}/", headers=HTMX))
    running = make_container(team, member, docker_host=docker_host, image=busybox_row, name="done")
    log_store.track(running.pk)
    assert "every 2s" not in text(client.get(f"/containers/{running.pk}/", headers=HTMX))


def test_missing_container_is_shown_as_gone(client_for, member, blue_container):
    Container.objects.filter(pk=blue_container.pk).update(state="missing")
    page = text(client_for(member).get(f"/containers/{blue_container.pk}/"))
    assert "Missing on engine" in page
    assert "The container is gone from its engine." in page
    assert "/actions/remove/" in page
