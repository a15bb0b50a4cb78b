"""In a real browser: a VM's load graphs become interactive charts (uPlot from npm), and longer windows load."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.history import HOUR
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.factories.hypervisors import VirtualMachineFactory, VMStatSampleFactory
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_member_sees_charts_and_switches_to_ninety_days(live_team, live_member, live_server, monkeypatch):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    vm = VirtualMachineFactory(team=live_team, name="charted")
    now = timezone.now()
    for minutes in range(10, 0, -1):
        VMStatSampleFactory(vm=vm, taken_at=now - timedelta(minutes=minutes), cpu_time_ns=minutes * 10**9)
    VMStatSampleFactory(vm=vm, taken_at=now - timedelta(days=40), period_seconds=HOUR)
    base = live_server.url.replace("localhost", "127.0.0.1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base)
            refused = csp_violations(page)
            member_log_in(page, live_member.username)

            page.goto(f"/vms/{vm.uuid}/")
            charts = page.locator(".history-charts")
            expect(charts).to_be_visible()
            expect(charts.locator(".uplot")).to_have_count(6)
            expect(page.locator("[data-history-fallback]")).to_be_hidden()
            expect(charts.locator(".u-title").first).to_have_text("CPU (%)")

            with page.expect_response(lambda r: "window=90d" in r.url and r.ok):
                page.get_by_role("button", name="90 days").click()
            expect(page.get_by_role("button", name="90 days")).to_have_attribute("aria-pressed", "true")
            expect(charts.locator(".uplot")).to_have_count(6)
            assert refused == []
        finally:
            browser.close()
