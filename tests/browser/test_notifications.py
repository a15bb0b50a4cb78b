"""In a real browser: the header's unread badge follows marking notifications read (htmx, CSRF from <body>), and
the profile turns a kind of e-mail off; nothing is refused by the Content-Security-Policy."""

from __future__ import annotations

import pytest

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut
from portal.notifications.services import notify
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_member_reads_notifications_and_turns_an_email_off(live_team, live_member, live_server, monkeypatch):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    for name in ("web", "db"):
        notify(users=[live_member], category=NotificationCategory.JOB_FINISHED, subject=f"Ready: {name}", url="/vms/")
    base = live_server.url.replace("localhost", "127.0.0.1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base)
            refused = csp_violations(page)
            member_log_in(page, live_member.username)
            badge = page.locator("#unread-badge")
            expect(badge).to_have_text("2")

            page.get_by_role("link", name="Notifications").click()
            row = page.locator("li.notification", has_text="Ready: web")
            row.get_by_role("button", name="Mark as read").click()
            expect(row.get_by_role("button", name="Mark as read")).to_have_count(0)
            expect(badge).to_have_text("1")  # the answer's HX-Trigger made the badge count again
            page.get_by_role("button", name="Mark all as read").click()
            expect(badge).to_have_text("")
            expect(badge).to_be_hidden()

            page.get_by_role("link", name="Profile").click()
            page.get_by_label("My builds finished or failed").uncheck()
            page.get_by_role("button", name="Save e-mail choices").click()
            expect(page.get_by_text("E-mail choices saved.")).to_be_visible()
            assert list(EmailOptOut.objects.filter(user=live_member).values_list("category", flat=True)) == [
                NotificationCategory.JOB_FINISHED
            ]
            assert refused == []
        finally:
            browser.close()
