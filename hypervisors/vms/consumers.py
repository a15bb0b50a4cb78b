"""The websockets of a VM's serial and graphical consoles (front doors, like the views: selectors and services only)."""

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
from hypervisors.vms.graphics import vm_graphics_open
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


#: RFB's FramebufferUpdateRequest: message type 3, ten bytes. A viewer sends it by itself after every update.
UPDATE_REQUEST, UPDATE_REQUEST_LENGTH = 3, 10


class VMGraphicsConsumer(VMConsoleConsumer):
    """Relays a VM's VNC display to noVNC on its page (raw RFB in binary frames after the relay's opening)."""

    kind = ConsoleKind.GRAPHICAL

    def terminal_open(self, resource: models.Model, *, take_over: bool, output: Output, ended: Ended) -> Terminal:
        assert isinstance(resource, VirtualMachine)
        return vm_graphics_open(resource, output=output, ended=ended)

    def recent_output(self, resource: models.Model) -> bytes:
        return b""  # a display shows its present state as soon as the viewer asks

    def is_input(self, data: bytes) -> bool:
        """Keys, pointer moves and the like are input; frames made only of screen update requests are not."""
        if not data or len(data) % UPDATE_REQUEST_LENGTH:
            return True
        return any(data[start] != UPDATE_REQUEST for start in range(0, len(data), UPDATE_REQUEST_LENGTH))
