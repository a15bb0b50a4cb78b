"""The one place that decides between a full page and an htmx fragment, and how htmx answers are shaped.

Every view that serves htmx uses these helpers, so "render the status fragment
and tell the page something changed" and "the object is gone: send the page
elsewhere" are written once.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (installed for every request)."""

    htmx: HtmxDetails


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it wants a fragment, not a page)."""
    details: HtmxDetails | None = getattr(request, "htmx", None)
    return bool(details)


def page_or_fragment(
    request: HttpRequest, *, page: str, fragment: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The full page, or only its fragment when htmx asks."""
    return render(request, fragment if is_htmx(request) else page, context, status=status)


def fragment_with_trigger(request: HttpRequest, template: str, context: dict[str, Any], event: str) -> HttpResponse:
    """A fragment plus an ``HX-Trigger`` event, so other parts of the page (job lists, polling) refresh."""
    response = render(request, template, context)
    response["HX-Trigger"] = event
    return response


def gone_redirect(url: str) -> HttpResponse:
    """A 404 that tells htmx to move the whole page to ``url`` (the object it polled was deleted)."""
    return HttpResponseNotFound(headers={"HX-Redirect": url})
