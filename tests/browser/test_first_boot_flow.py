"""First boot in a real browser: a member keeps an SSH key on the profile page (a private key pasted by mistake
is refused and gone from the box), asks for a VM with that key and a runcmd, and once a real worker built it on
``qemu:///system``, types ``hostname`` into its serial console and sees the name the seed gave it.

Served by uvicorn (as in production) so the console's websocket works; every wait has a deadline.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections

from hypervisors.models import VirtualMachine
from portal.choices import JobState
from portal.models import Job, ResourceRequest
from portal.services import request_approve
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.browser.test_console_flow import ANSWER_TIMEOUT_MS, TERMINAL, asgi_server, terminal_type  # noqa: F401
from tests.factories import ImageFactory, UserFactory
from tests.support.keys import private_text, public_line
from tests.support.processes import processes  # noqa: F401
from tests.support.qemu import banner_count
from tests.support.stack import require, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BUILD_TIMEOUT = 180
BOOT_TIMEOUT = 120


def test_member_keeps_a_key_asks_for_a_seeded_vm_and_its_console_shows_the_name(
    qemu_host,
    guest_image,
    live_team,
    live_member,
    celery_worker_process,
    asgi_server,  # noqa: F811
    monkeypatch,
):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    hasher = PBKDF2PasswordHasher()  # the server process checks with the production hasher
    live_member.password = hasher.encode(PASSWORD, hasher.salt())
    live_member.save()
    key_line = public_line("ecdsa", comment="browser@laptop")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=asgi_server, viewport={"width": 1280, "height": 900}).new_page()
            refused = csp_violations(page)
            member_log_in(page, live_member.username)

            # A private key pasted by mistake is refused, and the box comes back empty.
            page.goto("/profile/")
            keys = page.locator("#ssh-keys")
            page.fill("#id_ssh_key_public_key", private_text())
            keys.get_by_role("button", name="Add key").click()
            expect(keys).to_contain_text("This is a private key: it was not stored.")
            expect(page.locator("#id_ssh_key_public_key")).to_have_value("")
            # The public key is kept and its fingerprint shown.
            page.fill("#id_ssh_key_name", "laptop")
            page.fill("#id_ssh_key_public_key", key_line)
            keys.get_by_role("button", name="Add key").click()
            expect(keys).to_contain_text("Key laptop added.")
            fingerprint = live_member.ssh_keys.get().fingerprint
            expect(keys.locator("table")).to_contain_text(fingerprint)

            # The ask offers keys and user-data only while an image with cloud-init is chosen.
            plain = ImageFactory(name="plain-kernel", cloud_init=False)
            page.goto("/vms/new/")
            page.select_option("#id_image", str(plain.pk))
            expect(page.locator("#id_user_data")).to_be_hidden()
            page.select_option("#id_image", str(guest_image.pk))
            expect(page.locator("#id_user_data")).to_be_visible()
            # The key is offered; the user-data runs a command at first boot.
            page.fill("#id_name", "seeded")
            page.fill("#id_memory_mib", "96")
            choice = page.locator("#id_ssh_keys label", has_text=fingerprint)
            expect(choice).to_contain_text("laptop")
            choice.locator("input[type=checkbox]").check()
            page.fill("#id_user_data", "#cloud-config\nruncmd:\n  - echo from-runcmd > /root/runcmd.out\n")
            page.fill("#id_justification", "first boot in a browser")
            page.locator("#submit-request").click()
            expect(page.get_by_role("heading", name="Requests")).to_be_visible()

            request = ResourceRequest.objects.get(team=live_team, name="seeded")
            assert request.spec["ssh_keys"] == [key_line]
            admin = UserFactory(username="approver", is_staff=True, is_superuser=True)
            job_id = request_approve(actor=admin, request_id=request.pk).pk
            wait_until(lambda: Job.objects.get(pk=job_id).state in (JobState.SUCCEEDED, JobState.FAILED),
                       BUILD_TIMEOUT, "the build")  # fmt: skip
            assert Job.objects.get(pk=job_id).state == JobState.SUCCEEDED, celery_worker_process.log()
            vm = VirtualMachine.objects.get(request=request)
            wait_until(lambda: banner_count(vm.domain_name) >= 1, BOOT_TIMEOUT, "the guest to boot")

            page.goto(f"/vms/{vm.uuid}/console/")
            expect(page.locator("[data-console]")).to_have_attribute(
                "data-console-state", "open", timeout=ANSWER_TIMEOUT_MS
            )
            terminal_type(page, "hostname")
            # A row that is the name alone: only the command's answer (the boot log says "hostname seeded").
            rows = page.locator(f"{TERMINAL} > div", has_text=re.compile(r"^\s*seeded\s*$"))
            expect(rows.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            terminal_type(page, "cat /root/.ssh/authorized_keys /root/runcmd.out")
            expect(page.locator(TERMINAL)).to_contain_text("from-runcmd", timeout=ANSWER_TIMEOUT_MS)
            expect(page.locator(TERMINAL)).to_contain_text(key_line.split()[1][:40], timeout=ANSWER_TIMEOUT_MS)
            assert refused == [], "the pages broke the Content-Security-Policy"
        finally:
            browser.close()
            connections.close_all()
