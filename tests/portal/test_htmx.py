"""The one htmx helper: fragment or full page, a fragment with an event, and a page sent elsewhere."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from portal.htmx import fragment_with_trigger, gone_redirect, is_htmx, page_or_fragment
from tests.support.pages import HTMX

#: Two templates of the project that render from their context alone.
PAGE = "_messages.html"
FRAGMENT = "_state.html"
CONTEXT = {"state": "running", "label": "Running"}


def through_middleware(request):
    """The request as views see it: django-htmx's middleware (installed for every request) has looked at it."""
    HtmxMiddleware(lambda request: None)(request)
    return request


@pytest.fixture
def plain():
    return through_middleware(RequestFactory().get("/vms/"))


@pytest.fixture
def htmx():
    return through_middleware(RequestFactory().get("/vms/", headers=HTMX))


def test_is_htmx_tells_htmx_requests_from_others(plain, htmx):
    assert is_htmx(htmx)
    assert not is_htmx(plain)
    assert not is_htmx(RequestFactory().get("/")), "a request the middleware never saw is a plain one"


def test_page_or_fragment_renders_the_fragment_only_for_htmx(plain, htmx):
    fragment = page_or_fragment(htmx, page=PAGE, fragment=FRAGMENT, context=CONTEXT)
    assert fragment.content.decode().strip() == '<span class="state state-running">Running</span>'
    page = page_or_fragment(plain, page=PAGE, fragment=FRAGMENT, context=CONTEXT, status=422)
    assert page.status_code == 422
    assert "state-running" not in page.content.decode()


def test_fragment_with_trigger_tells_the_page_what_changed(htmx):
    response = fragment_with_trigger(htmx, FRAGMENT, CONTEXT, "vm-changed")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "vm-changed"
    assert "Running" in response.content.decode()


def test_gone_redirect_is_a_404_that_moves_the_whole_page():
    response = gone_redirect("/requests/")
    assert response.status_code == 404
    assert response["HX-Redirect"] == "/requests/"
