"""In a real browser: a member makes a token on the profile page (htmx, secret shown once), and the API docs
render from the portal's own static files with nothing refused by the Content-Security-Policy.
"""

from __future__ import annotations

import pytest

from portal.api.models import ApiToken
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Milliseconds Swagger UI may take to load the schema and draw the operations.
DOCS_TIMEOUT_MS = 20_000


def test_member_makes_a_token_and_reads_the_api_docs(live_team, live_member, live_server, monkeypatch):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    live_member.set_password(PASSWORD)
    live_member.save()
    base = live_server.url.replace("localhost", "127.0.0.1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base)
            refused = csp_violations(page)
            offsite: list[str] = []
            page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(base) else None)
            member_log_in(page, live_member.username)

            page.goto("/profile/")
            page.fill("#id_name", "ci pipeline")
            page.check("#id_read_only")
            page.get_by_role("button", name="Make token").click()
            secret = page.locator("#token-secret")
            expect(secret).to_contain_text("vpt_")
            assert ApiToken.objects.get(user=live_member).read_only
            page.reload()
            expect(page.locator("#token-secret")).to_have_count(0)
            expect(page.get_by_role("cell", name="ci pipeline")).to_be_visible()

            page.goto("/api/docs/")
            expect(page.locator(".swagger-ui .information-container")).to_be_visible(timeout=DOCS_TIMEOUT_MS)
            expect(page.get_by_text("/api/v1/vms/", exact=True).first).to_be_visible(timeout=DOCS_TIMEOUT_MS)
            assert refused == []
            assert offsite == []
        finally:
            browser.close()
