"""The websocket of a container's shell (a front door, like the views: selectors and services only)."""

from __future__ import annotations

from typing import Any

from django.db import models

from containers.containers.shell import (
    container_shell_check,
    container_shell_end_explain,
    container_shell_find,
    container_shell_open,
)
from containers.models import Container
from portal.choices import ConsoleKind
from portal.consumers import Ended, Output, Terminal, TerminalConsumer
from portal.models import ConsoleTicket, Team


class ContainerShellConsumer(TerminalConsumer):
    """Relays ``/bin/sh`` in a running container to xterm.js on its page; resizes reach the exec's tty."""

    kind = ConsoleKind.SHELL

    def resource_find(self, user: Any, route: dict[str, Any]) -> models.Model | None:
        return container_shell_find(user, int(route["pk"]))

    def resource_team(self, resource: models.Model) -> Team:
        assert isinstance(resource, Container)
        return resource.team

    def resource_check(self, resource: models.Model) -> str | None:
        assert isinstance(resource, Container)
        return container_shell_check(resource)

    def terminal_open(self, resource: models.Model, *, take_over: bool, output: Output, ended: Ended) -> Terminal:
        assert isinstance(resource, Container)
        return container_shell_open(resource, output=output, ended=ended)

    def end_explain(self, resource: models.Model, ticket: ConsoleTicket, reason: str) -> str:
        assert isinstance(resource, Container)
        return container_shell_end_explain(resource, ticket, reason)
