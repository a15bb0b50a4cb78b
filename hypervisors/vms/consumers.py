"""The websocket of a VM's serial console (a front door, like the views: selectors and services only)."""

from __future__ import annotations

from typing import Any

from django.db import models

from hypervisors.models import VirtualMachine
from hypervisors.vms.console import (
    vm_console_check,
    vm_console_end_explain,
    vm_console_find,
    vm_console_open,
    vm_console_recent,
)
from portal.choices import ConsoleKind
from portal.consumers import Ended, Output, Terminal, TerminalConsumer
from portal.models import ConsoleTicket, Team


class VMConsoleConsumer(TerminalConsumer):
    """Relays a VM's serial console to xterm.js on its page."""

    kind = ConsoleKind.SERIAL

    def resource_find(self, user: Any, route: dict[str, Any]) -> models.Model | None:
        return vm_console_find(user, str(route["vm_uuid"]))

    def resource_team(self, resource: models.Model) -> Team:
        assert isinstance(resource, VirtualMachine)
        return resource.team

    def resource_check(self, resource: models.Model) -> str | None:
        assert isinstance(resource, VirtualMachine)
        return vm_console_check(resource)

    def terminal_open(self, resource: models.Model, *, take_over: bool, output: Output, ended: Ended) -> Terminal:
        assert isinstance(resource, VirtualMachine)
        return vm_console_open(resource, take_over=take_over, output=output, ended=ended)

    def recent_output(self, resource: models.Model) -> bytes:
        assert isinstance(resource, VirtualMachine)
        return vm_console_recent(resource)

    def end_explain(self, resource: models.Model, ticket: ConsoleTicket, reason: str) -> str:
        assert isinstance(resource, VirtualMachine)
        return vm_console_end_explain(resource, ticket, reason)
