"""The websockets of the top pages: rows of live statistics pushed every refresh, read-only.

Admission reuses what every websocket passes in ``config.asgi`` (the Origin check, the session's
user) and then the page's own rule (staff for a host, seeing the team for a team). No one-time
ticket: a console ticket guards a session that can act on a machine and is audited, while this
socket only shows what the page itself would show, and the Origin check already stops another
site from opening it with the visitor's cookie.

Rows come from the process's shared pollers (``top_pollers``), one per host however many watch.
While open, the socket reads its scope again every refresh interval: a user who loses the team
(or staff status) is told and disconnected, and a team's new VMs and hosts join the page.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from hypervisors.hosts.selectors import TopScope, host_top_scope, team_top_scope
from hypervisors.hosts.top_pollers import Message, pollers
from portal.consumers import REFUSED


class TopConsumer(AsyncWebsocketConsumer):
    """A top page's websocket; subclasses say what the user may watch."""

    #: Whether the host's own error (which may name the host's address) is passed on, or only that it is down.
    host_errors_shown = False

    def scope_read(self, user: Any, route: dict[str, Any]) -> TopScope | None:
        """What this user may watch on this route, or None to refuse (runs in a worker thread)."""
        raise NotImplementedError

    async def connect(self) -> None:
        self.watching: dict[int, str] = {}
        self.task: asyncio.Task[None] | None = None
        user: Any = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED)
            return
        self.top = await self._scope_read()
        if self.top is None:
            await self.close(code=REFUSED)
            return
        await self.accept()
        loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Message] = asyncio.Queue()

        def watcher(message: Message) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, message)

        self.watcher = watcher
        self._follow(self.top.hosts)
        await self.send(text_data=json.dumps({"type": "open", "hosts": sorted(self.top.hosts)}))
        self.task = asyncio.create_task(self._pump())

    async def _scope_read(self) -> TopScope | None:
        read = database_sync_to_async(self.scope_read)
        return await read(self.scope["user"], self.scope["url_route"]["kwargs"])

    def _follow(self, hosts: dict[int, str]) -> None:
        """Watch exactly ``hosts``: join the new ones' pollers, leave the others'."""
        for host_id in set(self.watching) - set(hosts):
            pollers.unwatch(host_id=host_id, watcher=self.watcher)
            del self.watching[host_id]
        for host_id, uri in hosts.items():
            if host_id not in self.watching:
                self.watching[host_id] = uri
                pollers.watch(host_id=host_id, uri=uri, watcher=self.watcher)

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        assert self.top is not None
        uuids = self.top.uuids
        interval = settings.PORTAL_TOP_INTERVAL_SECONDS
        while True:
            try:
                message: Message | None = await asyncio.wait_for(self.queue.get(), timeout=interval)
            except TimeoutError:
                message = None  # nothing watched yet (a team without VMs): still check the scope
            if loop.time() - checked >= interval:
                checked = loop.time()
                top = await self._scope_read()
                if top is None:
                    await self._leave()
                    await self.send(text_data=json.dumps({"type": "ended", "message": "You may no longer watch this."}))
                    await self.close()
                    return
                uuids = top.uuids
                self._follow(top.hosts)
            if message is None or message.get("host") not in self.watching:
                continue
            if message["type"] == "rows" and uuids is not None:
                message = {**message, "rows": [row for row in message["rows"] if row["uuid"] in uuids]}
            elif message["type"] == "error" and not self.host_errors_shown:
                message = {**message, "message": "The host does not answer; the rows come back when it does."}
            await self.send(text_data=json.dumps(message))

    async def _leave(self) -> None:
        self._follow({})

    async def disconnect(self, code: int) -> None:
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        if getattr(self, "watching", None):
            await self._leave()


class HostTopConsumer(TopConsumer):
    """Every domain of one host, for portal administrators."""

    host_errors_shown = True

    def scope_read(self, user: Any, route: dict[str, Any]) -> TopScope | None:
        return host_top_scope(user, route["pk"])


class TeamTopConsumer(TopConsumer):
    """A team's VMs on whichever hosts run them, for everyone who sees the team."""

    def scope_read(self, user: Any, route: dict[str, Any]) -> TopScope | None:
        return team_top_scope(user, route["slug"])
