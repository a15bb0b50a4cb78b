"""In a real browser: a team admin runs the team page (htmx, no reload), and the person added logs in and sees it."""

from __future__ import annotations

import pytest
from django.db import connections

from portal.choices import RequestState, Role
from portal.models import Membership, ResourceRequest
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.factories import MembershipFactory, UserFactory
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_team_admin_adds_a_member_who_then_sees_the_team(live_team, live_member, live_server, monkeypatch):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    boss = UserFactory(username="boss")
    MembershipFactory(user=boss, team=live_team, role=Role.TEAM_ADMIN)
    carol = UserFactory(username="carol", email="carol@example.org")
    for user in (boss, carol):
        user.set_password(PASSWORD)
        user.save()
    base = live_server.url.replace("localhost", "127.0.0.1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            admin_page = browser.new_context(base_url=base).new_page()
            refused = csp_violations(admin_page)
            member_log_in(admin_page, boss.username)
            admin_page.get_by_role("link", name=f"Team {live_team.name}").click()
            expect(admin_page.get_by_role("heading", name=f"Team {live_team.name}")).to_be_visible()
            expect(admin_page.locator("#my-role")).to_have_text("Team admin")
            admin_page.evaluate("window.notReloaded = true")

            # A name no one has is an error under the field; nothing is added.
            admin_page.fill("#id_user", "nobody")
            admin_page.get_by_role("button", name="Add").click()
            expect(admin_page.locator("#errors-user")).to_contain_text("No user 'nobody' was found.")

            # By e-mail, as a viewer: htmx swaps the members in without a reload.
            admin_page.fill("#id_user", "carol@example.org")
            admin_page.select_option("#id_role", Role.VIEWER)
            admin_page.get_by_role("button", name="Add").click()
            expect(admin_page.locator("#members")).to_contain_text("carol was added as viewer.")
            expect(admin_page.locator("#member-carol")).to_be_visible()
            assert Membership.objects.get(user=carol, team=live_team).role == Role.VIEWER

            # A quota change, asked from the same page.
            admin_page.fill("#id_vm_count", "3")
            admin_page.fill("#id_justification", "a course next term")
            admin_page.get_by_role("button", name="Ask for this quota").click()
            expect(admin_page.locator("#quota-change")).to_contain_text("Your quota change was sent for approval.")
            change = ResourceRequest.objects.get(team=live_team)
            assert (change.state, change.spec) == (RequestState.PENDING, {"limits": {"vm_count": 3}})
            assert admin_page.evaluate("window.notReloaded === true"), "the team page was reloaded"

            # Carol logs in and finds the team, read-only.
            carol_page = browser.new_context(base_url=base).new_page()
            refused_carol = csp_violations(carol_page)
            member_log_in(carol_page, carol.username)
            carol_page.get_by_role("link", name=f"Team {live_team.name}").click()
            expect(carol_page.locator("#my-role")).to_have_text("Viewer")
            expect(carol_page.locator("#member-boss")).to_contain_text("Team admin")
            expect(carol_page.locator("#member-alice")).to_contain_text("Member")
            expect(carol_page.locator("table.quota")).to_be_visible()
            expect(carol_page.locator("#member-add")).to_have_count(0)
            assert refused == refused_carol == [], "the pages broke the Content-Security-Policy"
        finally:
            browser.close()
            connections.close_all()
