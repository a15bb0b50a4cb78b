"""Consoles in a real browser: xterm.js on the console tab and noVNC on the graphical one talk to the real ASGI
server (uvicorn, as in production) through its websocket, to a tiny guest's serial console and display on
``qemu:///system`` and to a shell in a container on the real Docker engine.

Django's own live server speaks only HTTP, so the test starts uvicorn on a free port of 127.0.0.1 against
the test database. What the terminal shows is read from xterm's rendered rows; every wait has a deadline.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections

from portal.choices import Role
from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, PASSWORD, csp_violations, member_log_in
from tests.factories import MembershipFactory, UserFactory
from tests.integration.test_consoles import local_engine, running_container, running_vm  # noqa: F401
from tests.support import docker_engine as eng
from tests.support.processes import ManagedProcess, processes  # noqa: F401
from tests.support.qemu import GUEST_BANNER
from tests.support.stack import require, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Milliseconds the console may take to connect, and a command's answer to appear.
ANSWER_TIMEOUT_MS = 30_000
#: The rows xterm.js renders (its DOM renderer, the default).
TERMINAL = ".xterm-rows"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def asgi_server(processes: Callable[..., ManagedProcess]) -> Iterator[str]:  # noqa: F811
    """The project's ASGI application under uvicorn on a free local port, on the test database; its base URL."""
    port = eng.free_port()
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
    server = processes("uvicorn", [*command, "--port", str(port)], env={"PORTAL_CONSOLE_CHECK_SECONDS": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/accounts/login/") or not server.running(), 30, "uvicorn to answer")
    assert server.running(), server.log()
    yield base


def terminal_type(page: Any, text: str) -> None:
    """Type into the terminal as a person would, then Enter (xterm.js sends a carriage return)."""
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_member_uses_vm_console_and_container_shell_viewer_cannot(
    running_vm,  # noqa: F811
    running_container,  # noqa: F811
    live_team,
    live_member,
    asgi_server,
    monkeypatch,
):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    viewer_user = UserFactory(username="victor")
    for user in (live_member, viewer_user):
        # The server process hashes with the production hasher, not the tests' fast one.
        hasher = PBKDF2PasswordHasher()
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save()
    MembershipFactory(user=viewer_user, team=live_team, role=Role.VIEWER)
    vm, container = running_vm, running_container

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            member = browser.new_context(base_url=asgi_server, viewport={"width": 1280, "height": 900}).new_page()
            viewer = browser.new_context(base_url=asgi_server).new_page()
            refused = {"member": csp_violations(member), "viewer": csp_violations(viewer)}
            member_log_in(member, live_member.username)

            # The VM page offers the console; its tab shows the boot output at once, from the serial log.
            member.goto(f"/vms/{vm.uuid}/")
            member.get_by_role("link", name="Console", exact=True).click()
            expect(member).to_have_url(f"{asgi_server}/vms/{vm.uuid}/console/")
            screen = member.locator(TERMINAL)
            expect(member.locator("[data-console]")).to_have_attribute(
                "data-console-state", "open", timeout=ANSWER_TIMEOUT_MS
            )
            expect(screen).to_contain_text(GUEST_BANNER, timeout=ANSWER_TIMEOUT_MS)

            # A command typed in the terminal runs in the guest; only the guest's shell can print 42.
            terminal_type(member, "echo console-$((6*7))")
            expect(screen).to_contain_text("console-42", timeout=ANSWER_TIMEOUT_MS)

            # After a reload the new console shows the recent output again, the answer included.
            member.reload()
            expect(member.locator("[data-console]")).to_have_attribute(
                "data-console-state", "open", timeout=ANSWER_TIMEOUT_MS
            )
            expect(member.locator(TERMINAL)).to_contain_text("console-42", timeout=ANSWER_TIMEOUT_MS)

            # The guest's image declares a graphical console: its tab shows the display in noVNC, connected
            # through the same origin's websocket, with no password anywhere in the page.
            member.get_by_role("link", name="Graphical console", exact=True).click()
            expect(member).to_have_url(f"{asgi_server}/vms/{vm.uuid}/graphics/")
            expect(member.locator("[data-graphics]")).to_have_attribute(
                "data-graphics-state", "connected", timeout=ANSWER_TIMEOUT_MS
            )
            expect(member.locator("[data-graphics-screen] canvas")).to_be_visible()
            assert member.locator("[data-graphics-screen] canvas").evaluate("canvas => canvas.width") > 0
            assert "passw" not in member.content().lower()

            # The container's shell tab runs ``id`` as the container's user.
            member.goto(f"/containers/{container.pk}/")
            member.get_by_role("link", name="Shell", exact=True).click()
            expect(member.locator("[data-console]")).to_have_attribute(
                "data-console-state", "open", timeout=ANSWER_TIMEOUT_MS
            )
            terminal_type(member, "id")
            expect(member.locator(TERMINAL)).to_contain_text("uid=1000", timeout=ANSWER_TIMEOUT_MS)

            # A viewer sees the VM but no console: no tab, the page and the ticket refused, the websocket too.
            member_log_in(viewer, viewer_user.username)
            viewer.goto(f"/vms/{vm.uuid}/")
            expect(viewer.get_by_role("heading", name=vm.name)).to_be_visible()
            expect(viewer.get_by_role("link", name="Console", exact=True)).to_have_count(0)
            expect(viewer.get_by_role("link", name="Graphical console", exact=True)).to_have_count(0)
            assert viewer.goto(f"/vms/{vm.uuid}/console/").status == 403
            viewer.goto(f"/vms/{vm.uuid}/")
            token = json.loads(viewer.locator("body").get_attribute("hx-headers") or "{}")["X-CSRFToken"]
            ticket = viewer.request.post(f"/vms/{vm.uuid}/console/ticket/", headers={"X-CSRFToken": token})
            assert ticket.status == 403, ticket.text()
            opened = viewer.evaluate(
                """path => new Promise(done => {
                    const socket = new WebSocket("ws://" + location.host + path + "?ticket=guess");
                    socket.onopen = () => done(true);
                    socket.onclose = () => done(false);
                })""",
                f"/ws/vms/{vm.uuid}/console/",
            )
            assert opened is False, "the websocket let a viewer in"

            assert refused == {"member": [], "viewer": []}, "the pages broke the Content-Security-Policy"
        finally:
            browser.close()
            # Playwright runs this block in a greenlet with its own context, so Django opened a
            # second connection here; close it, or the test database cannot be dropped afterwards.
            connections.close_all()
