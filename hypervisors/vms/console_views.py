"""A VM's console tab: the page with its serial terminal, and the ticket its websocket needs."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from hypervisors.models import VirtualMachine
from hypervisors.vms.console import vm_console_unavailable
from hypervisors.vms.selectors import vm_get
from portal.choices import ConsoleKind
from portal.console_views import ConsoleMixin, ConsolePageView, ConsoleTicketView


class VMConsoleMixin(ConsoleMixin):
    console_kind = ConsoleKind.SERIAL
    ticket_url_name = "vm-console-ticket"
    lookup_kwarg = "vm_uuid"

    def get_object(self, request: HttpRequest, lookup: Any) -> VirtualMachine:
        return vm_get(request.user, lookup)

    def lookup(self, obj: models.Model) -> dict[str, Any]:
        assert isinstance(obj, VirtualMachine)
        return {"vm_uuid": obj.uuid}

    def unavailable(self, obj: models.Model) -> str:
        assert isinstance(obj, VirtualMachine)
        return vm_console_unavailable(obj)


class VMConsoleView(VMConsoleMixin, ConsolePageView):
    """The VM's serial console in the browser."""

    template_name = "hypervisors/vm_console.html"


class VMConsoleTicketView(VMConsoleMixin, ConsoleTicketView):
    """A one-time ticket for the VM's console websocket."""
