"""The whole path in a real browser: a member asks for a VM, an admin approves it in Django admin,
a real Celery worker builds it on qemu:///system, and the member's VM page turns "Running" through htmx polling.

Checked through libvirt, not only through the portal's pages.
"""

from __future__ import annotations

import libvirt
import pytest
from django.contrib.auth.models import User
from django.db import connections

from hypervisors.models import VirtualMachine
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
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Milliseconds a build may take under software emulation, seen through the page's polling.
BUILD_TIMEOUT_MS = 120_000


def test_member_asks_admin_approves_vm_page_polls_to_running(
    django_db_setup, qemu_host, guest_image, live_team, live_member, celery_worker_process, live_server, monkeypatch
):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    admin = User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    base = live_server.url.replace("localhost", "127.0.0.1")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            member = browser.new_context(base_url=base).new_page()
            admin_page = browser.new_context(base_url=base).new_page()
            refused = {"member": csp_violations(member), "admin": csp_violations(admin_page)}

            # The member logs in and asks for a VM.
            member_log_in(member, live_member.username)
            member.get_by_role("link", name="Ask for a VM").click()
            expect(member.get_by_role("heading", name="Ask for a VM")).to_be_visible()

            member.fill("#id_name", "web")
            member.select_option("#id_team", str(live_team.pk))
            member.select_option("#id_image", str(guest_image.pk))
            member.fill("#id_vcpus", "1")
            member.fill("#id_disk_gib", "1")
            member.fill("#id_justification", "browser test")

            # The htmx preview follows the typing: too much memory is refused before sending.
            submit = member.locator("#submit-request")
            member.fill("#id_memory_mib", "99999")
            expect(member.locator("#quota-shortfalls")).to_contain_text(
                "Memory: over quota", timeout=PREVIEW_TIMEOUT_MS
            )
            expect(submit).to_be_disabled()
            member.fill("#id_memory_mib", "96")
            expect(member.locator("#quota-preview")).to_contain_text(
                "This ask fits in the team's quota.", timeout=PREVIEW_TIMEOUT_MS
            )
            expect(member.locator("#quota-shortfalls")).to_have_count(0)
            expect(submit).to_be_enabled()
            submit.click()

            expect(member).to_have_url(f"{base}/requests/")
            request = ResourceRequest.objects.get(team=live_team, name="web")
            assert (request.vcpus, request.memory_mib, request.disk_gib) == (1, 96, 1)
            expect(member.locator(".messages")).to_contain_text("Your request for web was sent for approval.")
            expect(member.locator(f"#request-{request.pk}")).to_contain_text("Pending approval")

            # The worker takes no task for now, so the member sees the build from its start.
            worker_control("cancel_consumer")

            # An admin approves it with the bulk action of the changelist.
            admin_approve(admin_page, admin.username, request.pk)
            request.refresh_from_db()
            assert request.state == RequestState.APPROVED
            vm = VirtualMachine.objects.get(request=request)
            job = Job.objects.get(request=request)

            # The member follows the request's link to the VM page: building, job queued.
            member.goto("/requests/")
            member.locator(f"#request-{request.pk}").get_by_role("link", name="web").click()
            expect(member).to_have_url(f"{base}/vms/{vm.uuid}/")
            expect(member.locator("#vm-state")).to_have_text("Building")
            expect(member.locator(f"#job-{job.pk}")).to_contain_text("Queued")
            polls: list[str] = []
            member.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
            member.evaluate("window.notReloaded = true")

            # The worker resumes; the page alone must notice, without a reload.
            worker_control("add_consumer")
            expect(member.locator("#vm-state")).to_have_text("Running", timeout=BUILD_TIMEOUT_MS)
            progress = member.locator(f"#job-{job.pk}")
            expect(progress.locator(".progress-figure")).to_have_text("100%", timeout=BUILD_TIMEOUT_MS)
            expect(progress).to_contain_text("Succeeded")
            expect(progress.locator("progress")).to_have_attribute("value", "100")
            assert member.evaluate("window.notReloaded === true"), "the VM page was reloaded"
            assert any(f"/vms/{vm.uuid}/" in url for url in polls), f"no htmx poll of the VM page: {polls}"

            ARTIFACTS.mkdir(exist_ok=True)
            member.screenshot(path=str(ARTIFACTS / "vm-running.png"), full_page=True)
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

    conn = libvirt.open("qemu:///system")
    try:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert domain.name() == f"{live_team.slug}.web"
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        assert f"type='{qemu_host.domain_type}'" in domain.XMLDesc(0)
    finally:
        conn.close()
