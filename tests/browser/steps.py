"""Steps both browser flows take: launching Chromium, logging in, approving in the admin, pausing the worker."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from config.celery import app as celery_app
from tests.support.stack import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Milliseconds the htmx quota preview may take to come back.
PREVIEW_TIMEOUT_MS = 10_000
#: The queue the provisioning task goes to (Celery's default).
QUEUE = "celery"
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse battery staple"
#: How long a worker may take to answer a control command (it may still be starting).
WORKER_ANSWER_SECONDS = 90


def worker_control(command: str) -> None:
    """Tell only this test's worker (see tests/support/processes.py for its name) to stop or resume taking tasks.

    The resource's page must first be seen while its job is still queued, so that
    the "Running" that follows can only have come through htmx polling.
    """
    worker = f"test-{os.getpid()}@{socket.gethostname()}"
    # A worker that is still starting (a loaded machine) answers nothing yet: ask again until a deadline.
    deadline = time.monotonic() + WORKER_ANSWER_SECONDS
    replies = None
    while not replies and time.monotonic() < deadline:
        replies = getattr(celery_app.control, command)(QUEUE, destination=[worker], reply=True, timeout=5)
    assert replies, f"the worker {worker} did not answer {command} within {WORKER_ANSWER_SECONDS} s"


def csp_violations(page: Any) -> list[str]:
    """Record what the browser refuses under the Content-Security-Policy on this page from now on.

    Chromium reports each refusal (an inline script, handler or style, a source
    not allowed) on the console; the returned list fills as the page is used.
    """
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    return refused


def member_log_in(page: Any, username: str) -> None:
    """Log in through the portal's own login page and land on the dashboard."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def admin_approve(page: Any, username: str, request_pk: int) -> None:
    """Log in to Django admin and approve one request with the changelist's bulk action."""
    from playwright.sync_api import expect

    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/portal/resourcerequest/")
    page.check(f"input[name='_selected_action'][value='{request_pk}']")
    page.select_option("select[name='action']", label="Approve selected requests")
    page.locator("button[name='index']").click()
    expect(page.locator(".messagelist")).to_contain_text("Approved 1 request(s); provisioning has been queued.")
