"""An ask inside its team's auto-approval policy in a real browser: no administrator, straight to Running.

The member asks for a small VM; the policy approves it at submission, a real Celery worker builds it on
qemu:///system, and the member's VM page turns "Running" through htmx polling. Checked through libvirt too.
"""

from __future__ import annotations

from decimal import Decimal

import libvirt
import pytest
from django.db import connections

from hypervisors.models import VirtualMachine
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, PREVIEW_TIMEOUT_MS, csp_violations, member_log_in
from tests.factories import AutoApprovalPolicyFactory
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Milliseconds a build may take under software emulation, seen through the page's polling.
BUILD_TIMEOUT_MS = 120_000


def test_member_ask_in_policy_runs_without_an_admin(
    django_db_setup, qemu_host, guest_image, live_team, live_member, celery_worker_process, live_server, monkeypatch
):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    AutoApprovalPolicyFactory(
        name="tiny-vms", team=live_team, max_vcpus=Decimal(1), max_memory_mib=128, max_disk_gib=1,
        images=[f"vm:{guest_image.pk}"],
    )  # fmt: skip
    base = live_server.url.replace("localhost", "127.0.0.1")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            member = browser.new_context(base_url=base).new_page()
            refused = csp_violations(member)
            member_log_in(member, live_member.username)
            member.get_by_role("link", name="Ask for a VM").click()
            member.fill("#id_name", "auto")
            member.select_option("#id_team", str(live_team.pk))
            member.select_option("#id_image", str(guest_image.pk))
            member.fill("#id_vcpus", "1")
            member.fill("#id_memory_mib", "96")
            member.fill("#id_disk_gib", "1")
            member.fill("#id_justification", "browser test")
            expect(member.locator("#quota-preview")).to_contain_text(
                "This ask fits in the team's quota.", timeout=PREVIEW_TIMEOUT_MS
            )
            member.locator("#submit-request").click()

            expect(member).to_have_url(f"{base}/requests/")
            expect(member.locator(".messages")).to_contain_text(
                "Your request for auto was approved automatically by policy tiny-vms"
            )
            request = ResourceRequest.objects.get(team=live_team, name="auto")
            row = member.locator(f"#request-{request.pk}")
            expect(row).to_contain_text("approved by policy tiny-vms")

            # Straight to the VM page, and to Running, with no admin step in between.
            row.get_by_role("link", name="auto").click()
            vm = VirtualMachine.objects.get(request=request)
            expect(member).to_have_url(f"{base}/vms/{vm.uuid}/")
            expect(member.locator("#vm-state")).to_have_text("Running", timeout=BUILD_TIMEOUT_MS)
            assert refused == [], "the pages broke the Content-Security-Policy"
        finally:
            browser.close()
            connections.close_all()

    job = Job.objects.get(request=request)
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.approval_policy.name) == (
        RequestState.FULFILLED, None, "tiny-vms",
    )  # fmt: skip

    conn = libvirt.open("qemu:///system")
    try:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    finally:
        conn.close()
