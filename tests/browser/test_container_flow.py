"""A container in a real browser: a member asks for it, an admin approves it in Django admin, a real Celery
worker creates it on the local Docker engine, and the member's container page turns "Running" through htmx
polling, without a reload.

Checked through the engine too, not only through the portal's pages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connections

from containers.models import Container, ContainerImage, DockerHost
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from tests.browser.steps import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    PREVIEW_TIMEOUT_MS,
    admin_approve,
    csp_violations,
    member_log_in,
    worker_control,
)
from tests.support import docker_engine as eng
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Milliseconds the worker may take to create and start the container, seen through the page's polling.
BUILD_TIMEOUT_MS = 60_000


@pytest.fixture
def local_engine(transactional_db, live_team) -> Iterator[DockerHost]:
    """The local engine with portal/busybox offered to the test team; the team's containers are removed after."""
    yield from eng.local_engine_for(live_team)


def test_member_asks_admin_approves_container_page_polls_to_running(
    django_db_setup, local_engine, live_team, live_member, celery_worker_process, live_server, monkeypatch
):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    admin = User.objects.create_superuser(
        username=f"root-{live_team.slug}", email="root@example.com", password=PASSWORD
    )
    image = ContainerImage.objects.get(docker_host=local_engine)
    port = eng.free_port()
    base = live_server.url.replace("localhost", "127.0.0.1")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            member = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}).new_page()
            admin_page = browser.new_context(base_url=base).new_page()
            refused = {"member": csp_violations(member), "admin": csp_violations(admin_page)}

            # The member logs in and asks for a container.
            member_log_in(member, live_member.username)
            member.get_by_role("link", name="Ask for a container").click()
            expect(member.get_by_role("heading", name="Ask for a container")).to_be_visible()

            member.fill("#id_name", "web")
            member.select_option("#id_team", str(live_team.pk))
            member.select_option("#id_image", str(image.pk))
            member.fill("#id_command", "httpd -f -p 8080 -h /var/www")
            member.fill("#id_ports", f"{port}:8080")
            member.fill("#id_cpus", "0.5")
            member.fill("#id_justification", "browser test")

            # The htmx preview follows the typing: too much memory is refused before sending.
            submit = member.locator("#submit-request")
            member.fill("#id_memory_mib", "99999")
            expect(member.locator("#quota-shortfalls")).to_contain_text(
                "Memory: over quota", timeout=PREVIEW_TIMEOUT_MS
            )
            expect(submit).to_be_disabled()
            member.fill("#id_memory_mib", "64")
            expect(member.locator("#quota-preview")).to_contain_text(
                "This ask fits in the team's quota.", timeout=PREVIEW_TIMEOUT_MS
            )
            expect(submit).to_be_enabled()
            submit.click()

            expect(member).to_have_url(f"{base}/requests/")
            request = ResourceRequest.objects.get(team=live_team, name="web")
            assert (str(request.vcpus), request.memory_mib) in (("0.50", 64), ("0.5", 64))
            expect(member.locator(".messages")).to_contain_text("Your request for web was sent for approval.")
            expect(member.locator(f"#request-{request.pk}")).to_contain_text("Pending approval")

            # The worker takes no task for now, so the member sees the container from its start.
            worker_control("cancel_consumer")

            # An admin approves it with the bulk action of the changelist.
            admin_approve(admin_page, admin.username, request.pk)
            container = Container.objects.get(request=request)
            job = Job.objects.get(request=request)

            # The member follows the request's link to the container page: creating, job queued.
            member.goto("/requests/")
            member.locator(f"#request-{request.pk}").get_by_role("link", name="web").click()
            expect(member).to_have_url(f"{base}/containers/{container.pk}/")
            expect(member.locator("#container-state")).to_have_text("Creating")
            expect(member.locator(f"#job-{job.pk}")).to_contain_text("Queued")
            polls: list[str] = []
            member.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
            member.evaluate("window.notReloaded = true")

            # The worker resumes; the page alone must notice, without a reload.
            worker_control("add_consumer")
            expect(member.locator("#container-state")).to_have_text("Running", timeout=BUILD_TIMEOUT_MS)
            progress = member.locator(f"#job-{job.pk}")
            expect(progress).to_contain_text("Succeeded", timeout=BUILD_TIMEOUT_MS)
            expect(progress.locator("progress")).to_have_attribute("value", "100")
            expect(member.locator("button.action-stop")).to_be_visible()
            assert member.evaluate("window.notReloaded === true"), "the container page was reloaded"
            assert any(f"/containers/{container.pk}/" in url for url in polls), f"no htmx poll: {polls}"

            ARTIFACTS.mkdir(exist_ok=True)
            member.screenshot(path=str(ARTIFACTS / "container-running.png"), full_page=True)
            assert refused == {"member": [], "admin": []}, "the pages broke the Content-Security-Policy"
        finally:
            browser.close()
            # Playwright runs this block in a greenlet with its own context, so Django opened a
            # second connection here; close it, or the test database cannot be dropped afterwards.
            connections.close_all()

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    facts = eng.inspect(f"{live_team.slug}.web")
    assert facts["Id"] == Container.objects.get(pk=container.pk).engine_id
    assert facts["State"]["Running"] is True
    assert facts["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
