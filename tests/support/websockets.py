"""A websocket client against the project's real ASGI application, logged in like a browser."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application

T = TypeVar("T")

ORIGIN = "http://testserver"


def session_cookie(user: Any) -> str:
    """The session cookie of a fresh login of ``user``."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def communicator(path: str, *, user: Any = None, ticket: str = "", origin: str = ORIGIN) -> WebsocketCommunicator:
    """A websocket to ``path`` with the user's session cookie, the ticket in the query and an Origin."""
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if user is not None:
        headers.append((b"cookie", session_cookie(user).encode()))
    query = f"?ticket={ticket}" if ticket else ""
    return WebsocketCommunicator(application, path + query, headers=headers)


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run an async test body from a sync test (the database stays on the test's own thread)."""
    return async_to_sync(coroutine)()


async def next_json(socket: WebsocketCommunicator, timeout: float = 10) -> dict[str, Any]:
    """The next text frame as JSON, skipping binary output frames."""
    while True:
        message = await socket.receive_output(timeout)
        if message["type"] == "websocket.close":
            raise AssertionError(f"closed before a text frame: {message}")
        if message.get("text") is not None:
            return dict(json.loads(message["text"]))
