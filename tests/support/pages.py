"""Reading and posting pages as a browser does: decoded text, CSRF posts, htmx headers, field errors, queries."""

from __future__ import annotations

import html
import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

#: The header htmx sends with every request it makes.
HTMX = {"HX-Request": "true"}


def text(response) -> str:
    """The response body with HTML entities decoded, for looking up messages."""
    return html.unescape(response.content.decode())


def csrf_post(client: Client, url: str, data=None, htmx: bool = False, **kwargs):
    """POST as the browser does: the csrftoken cookie plus the X-CSRFToken header htmx takes from <body>."""
    if "csrftoken" not in client.cookies:
        client.get("/")
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value, **(HTMX if htmx else {})}
    return client.post(url, data or {}, headers=headers, **kwargs)


def field_errors(response, field: str) -> str:
    """The text of the error block next to a field (also matches the out-of-band copy htmx swaps in)."""
    match = re.search(
        rf'<div id="errors-{field}" class="field-errors"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    assert match, f"no error block for {field}"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def submit_button(response) -> str:
    """The request form's submit button, as rendered (enabled or not)."""
    match = re.search(r'<button id="submit-request"[^>]*>', response.content.decode())
    assert match, "no submit button"
    return match.group(0)


def count_queries(client: Client, url: str) -> int:
    """How many queries one GET of ``url`` makes; the page must render."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)
