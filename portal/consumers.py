"""The websocket front door of every browser console: admit, relay, watch, record.

A consumer is another front door, like a view: a kind's subclass loads the resource
through the kind's selector and reaches the machine through a service module, never a
driver. This base does what every console shares:

- admits a websocket only for a user who may see the resource, holds the console role
  and brings a valid one-time ticket (``portal.consoles``), and refuses it otherwise;
- relays bytes both ways: the terminal's thread hands output to the event loop through an
  asyncio queue, keystrokes go to the terminal in a worker thread, so neither side blocks
  the other; a JSON text frame carries a resize;
- ends the console, and tells the page why, when the resource stops or is deleted, the
  user loses the role, nobody typed for ``PORTAL_CONSOLE_IDLE_SECONDS``, or the terminal
  itself ended (the shell exited, another session took the console over);
- records every session as an audit event: who, what, where from, when, bytes each way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.choices import ConsoleEnd
from portal.consoles import (
    ConsoleSession,
    console_allowed,
    console_refusal_record,
    console_session_record,
    console_ticket_redeem,
)
from portal.models import ConsoleTicket, Team

logger = logging.getLogger(__name__)

#: Close code of a websocket refused before it was accepted (no ticket, a bad one, no role, not visible).
REFUSED = 4403
#: Largest terminal a resize may ask for; more is a client error, not a terminal.
MAX_TERMINAL_SIZE = 1000


class Terminal(Protocol):
    """An open terminal on a machine, as the kind's service module returns it. Methods may block briefly."""

    def send(self, data: bytes) -> None: ...

    def resize(self, cols: int, rows: int) -> None: ...

    def close(self) -> None: ...


class ConsoleUnavailable(Exception):
    """The console cannot open now; the message says why and is shown to the person."""


class ConsoleBusy(ConsoleUnavailable):
    """Another session holds the console; it can be taken over."""


@dataclass(frozen=True)
class TerminalEnded:
    """Put on the output queue when the terminal ends by itself (``ConsoleEnd`` value, as the terminal saw it)."""

    reason: str


Output = Callable[[bytes], None]
Ended = Callable[[str], None]


class TerminalConsumer(AsyncWebsocketConsumer):
    """A console websocket. Subclasses name the console kind and implement the hooks below."""

    kind: ClassVar[str]

    # -- hooks (run in worker threads) ------------------------------------------------------

    def resource_find(self, user: Any, route: dict[str, Any]) -> models.Model | None:
        """The resource through the kind's selector, or None when the user may not see it."""
        raise NotImplementedError

    def resource_team(self, resource: models.Model) -> Team:
        raise NotImplementedError

    def resource_check(self, resource: models.Model) -> str | None:
        """Read the resource again: a ``ConsoleEnd`` value when it was deleted or stopped, else None."""
        raise NotImplementedError

    def terminal_open(self, resource: models.Model, *, take_over: bool, output: Output, ended: Ended) -> Terminal:
        """Open the terminal. Raises ``ConsoleUnavailable`` (or ``ConsoleBusy``) with a message for the person."""
        raise NotImplementedError

    def recent_output(self, resource: models.Model) -> bytes:
        """What the machine printed lately, shown before live output; empty when the kind keeps none."""
        return b""

    def end_explain(self, resource: models.Model, ticket: ConsoleTicket, reason: str) -> str:
        """Why the terminal ended by itself, in ``ConsoleEnd`` values; kinds refine what the terminal saw."""
        return reason

    def is_input(self, data: bytes) -> bool:
        """Whether a frame from the page is a person's input (it keeps the console from idling); kinds whose
        client also talks by itself (a VNC viewer asking for screen updates) say which frames are not."""
        return True

    # -- websocket ----------------------------------------------------------------------------

    async def connect(self) -> None:
        self.finished = False
        self.terminal: Terminal | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.session: ConsoleSession | None = None
        user: Any = self.scope.get("user")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        raw_ticket = (query.get("ticket") or [""])[0]
        client = (self.scope.get("client") or ("", 0))[0] or ""
        admitted = await database_sync_to_async(self._admit)(user, raw_ticket, client)
        if admitted is None:
            await self.close(code=REFUSED)
            return
        self.resource, self.ticket = admitted
        await self.accept()
        self.session = ConsoleSession(
            user=user,
            target=self.resource,
            team=self.team,
            kind=self.kind,
            client=client,
            started_at=timezone.now(),
        )
        loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | TerminalEnded] = asyncio.Queue()

        def output(data: bytes) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, data)

        def ended(reason: str) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, TerminalEnded(reason))

        try:
            recent = await asyncio.to_thread(self.recent_output, self.resource)
            self.terminal = await asyncio.to_thread(
                self.terminal_open, self.resource, take_over=self.ticket.take_over, output=output, ended=ended
            )
        except ConsoleUnavailable as error:
            self.finished = True
            status = "busy" if isinstance(error, ConsoleBusy) else "unavailable"
            await self.send(text_data=json.dumps({"type": status, "message": str(error)}))
            await self.close()
            return
        self.last_input = loop.time()
        await self.send(text_data=json.dumps({"type": "open", "kind": self.kind}))
        if recent:
            self.session.bytes_out += len(recent)
            await self.send(bytes_data=recent)
        self.tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._watch())]

    def _admit(self, user: Any, raw_ticket: str, client: str) -> tuple[models.Model, ConsoleTicket] | None:
        """The resource and the used ticket when every rule lets this user in; None (and an audit) otherwise."""
        if user is None or not user.is_authenticated:
            return None
        resource = self.resource_find(user, self.scope["url_route"]["kwargs"])
        if resource is None:
            return None  # not this user's to see: as a page would 404, with nothing to audit against
        self.team = self.resource_team(resource)
        ticket = None
        if console_allowed(user, self.team):
            ticket = console_ticket_redeem(raw=raw_ticket, user=user, target=resource, kind=self.kind)
        if ticket is None:
            console_refusal_record(user=user, target=resource, team=self.team, kind=self.kind, client=client)
            return None
        return resource, ticket

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.finished or self.terminal is None or self.session is None:
            return
        if bytes_data:
            if self.is_input(bytes_data):
                self.last_input = asyncio.get_running_loop().time()
            self.session.bytes_in += len(bytes_data)
            await asyncio.to_thread(self.terminal.send, bytes_data)
        elif text_data:
            await self._control(text_data)

    async def _control(self, text_data: str) -> None:
        """A control message from the page; today only ``{"type": "resize", "cols": C, "rows": R}``."""
        try:
            message = json.loads(text_data)
            cols, rows = int(message["cols"]), int(message["rows"])
        except (ValueError, TypeError, KeyError):
            return
        if message.get("type") == "resize" and 0 < cols <= MAX_TERMINAL_SIZE and 0 < rows <= MAX_TERMINAL_SIZE:
            assert self.terminal is not None
            await asyncio.to_thread(self.terminal.resize, cols, rows)

    async def disconnect(self, code: int) -> None:
        await self._finish(ConsoleEnd.CLOSED, tell=False)

    # -- relay and watch --------------------------------------------------------------------

    async def _pump(self) -> None:
        """Send the terminal's output to the page, joining what queued up meanwhile into one frame."""
        while True:
            item = await self.queue.get()
            chunks: list[bytes] = []
            while isinstance(item, bytes):
                chunks.append(item)
                if self.queue.empty():
                    break
                item = self.queue.get_nowait()
            if chunks:
                data = b"".join(chunks)
                assert self.session is not None
                self.session.bytes_out += len(data)
                await self.send(bytes_data=data)
            if isinstance(item, TerminalEnded):
                reason = await database_sync_to_async(self.end_explain)(self.resource, self.ticket, item.reason)
                await self._finish(reason)
                return

    async def _watch(self) -> None:
        """End the console on idleness, a stopped or deleted resource, or a lost role."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.PORTAL_CONSOLE_CHECK_SECONDS)
            if loop.time() - self.last_input > settings.PORTAL_CONSOLE_IDLE_SECONDS:
                await self._finish(ConsoleEnd.IDLE)
                return
            reason = await database_sync_to_async(self._check)()
            if reason:
                await self._finish(reason)
                return

    def _check(self) -> str | None:
        reason = self.resource_check(self.resource)
        user: Any = self.scope["user"]
        if reason is None and not console_allowed(user, self.team):
            reason = ConsoleEnd.ROLE_LOST
        return reason

    async def _finish(self, reason: str, *, tell: bool = True) -> None:
        """End the session once: tell the page why, close the terminal, record it, stop the other task."""
        if self.finished or self.session is None:
            return
        self.finished = True
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        # Closed and recorded before the page is told: a page that leaves at once must not cut the record short.
        if self.terminal is not None:
            await asyncio.to_thread(self.terminal.close)
        await database_sync_to_async(console_session_record)(session=self.session, end=reason)
        if tell:
            message = {"type": "ended", "reason": reason, "message": ConsoleEnd(reason).label}
            await self.send(text_data=json.dumps(message))
            await self.close()
