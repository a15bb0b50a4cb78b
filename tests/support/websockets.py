"""A websocket client against the project's real ASGI application, logged in like a browser."""

from __future__ import annotations

import json
import time
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


#: Seconds a console may take to answer under emulation on a busy machine.
ANSWER_TIMEOUT = 30


async def read_until(socket: WebsocketCommunicator, seen: Callable[[bytes, list[dict[str, Any]]], bool]) -> bytes:
    """Collect output (and control messages) until ``seen`` says enough; fail at the deadline."""
    output = b""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not seen(output, messages):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; output so far: {output[-500:]!r}, messages: {messages}")
        try:
            frame = await socket.receive_output(remaining)
        except TimeoutError:
            continue
        if frame["type"] == "websocket.close":
            messages.append({"type": "closed", "code": frame.get("code")})
        elif frame.get("bytes") is not None:
            output += frame["bytes"]
        elif frame.get("text") is not None:
            messages.append(json.loads(frame["text"]))
    return output


def has(message_type: str) -> Callable[[bytes, list[dict[str, Any]]], bool]:
    return lambda _output, messages: any(message["type"] == message_type for message in messages)
