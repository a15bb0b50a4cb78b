"""The host's top page in a real browser: top.js fills the table from the websocket of the real ASGI
server (uvicorn) every refresh and sorts it by the heading clicked, under the Content-Security-Policy.

The host is libvirt's test driver loaded from a node file, so the server process sees the same three
running domains the test wrote.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.browser.test_console_flow import asgi_server  # noqa: F401
from tests.factories import HostFactory, UserFactory
from tests.support.processes import processes  # noqa: F401
from tests.support.stack import require

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NAMES = ("top-b", "top-a", "top-c")


def node_file(path: Path) -> str:
    """A test-driver host of three small running domains; its URI."""
    node = ET.Element("node")
    for index, name in enumerate(NAMES):
        domain = ET.SubElement(node, "domain", {"type": "test"})
        ET.SubElement(domain, "name").text = name
        ET.SubElement(domain, "memory").text = str(65536 * (index + 1))
        ET.SubElement(domain, "vcpu").text = "1"
        ET.SubElement(ET.SubElement(domain, "os"), "type").text = "hvm"
    path.write_text(ET.tostring(node, encoding="unicode"))
    return f"test://{path}"


def test_staff_watch_a_host_and_sort_its_rows(asgi_server, tmp_path, monkeypatch):  # noqa: F811
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    host = HostFactory(uri=node_file(tmp_path / "node.xml"))
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    hasher = PBKDF2PasswordHasher()  # the server process hashes with the production hasher
    staff.password = hasher.encode(PASSWORD, hasher.salt())
    staff.save()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=asgi_server).new_page()
            refused = csp_violations(page)
            member_log_in(page, "root")
            page.goto(f"/hosts/{host.pk}/top/")
            rows = page.locator("[data-top-rows] tr")
            expect(rows).to_have_count(3, timeout=15_000)
            expect(rows.first.locator("td").nth(1)).to_have_text("running")
            expect(rows.first.locator("td").nth(3)).to_have_text("— / 128 MiB")  # top-a, sorted first by name
            expect(rows.locator("td:first-child")).to_have_text(sorted(NAMES))
            status = page.locator("[data-top-status]")
            expect(status).to_contain_text("Updated")
            first_update = status.text_content()
            # A later push redraws the table (the status carries the time of the last one).
            expect(status).not_to_have_text(first_update or "", timeout=15_000)

            page.get_by_role("button", name="Name").click()
            expect(rows.locator("td:first-child")).to_have_text(sorted(NAMES, reverse=True))
            expect(page.locator('th[data-sort="name"]')).to_have_attribute("aria-sort", "descending")
            assert refused == []
        finally:
            browser.close()
