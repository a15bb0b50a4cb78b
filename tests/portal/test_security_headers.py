"""Every page carries a Content-Security-Policy with no inline script, a Referrer-Policy and nosniff;
the pages themselves hold no inline script or inline event handler, so the policy breaks nothing."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]

PAGES = ("/", "/vms/", "/containers/", "/networks/", "/requests/", "/vms/new/", "/containers/new/")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_login_page_has_the_headers(client):
    response = client.get("/accounts/login/")
    directives = policy(response)
    assert directives["script-src"] == "script-src 'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in directives["script-src"]
    assert directives["object-src"] == "object-src 'none'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_script_or_handler(client_for, member, url):
    response = client_for(member).get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    assert "Content-Security-Policy" in response.headers
    assert not INLINE_SCRIPT.findall(body), url
    assert not INLINE_HANDLER.findall(body), url


def test_admin_pages_have_no_inline_script(admin_client):
    for url in ("/admin/", "/admin/portal/resourcerequest/", "/admin/hypervisors/host/add/"):
        body = admin_client.get(url).content.decode()
        assert not INLINE_SCRIPT.findall(body), url
