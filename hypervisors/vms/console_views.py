"""A VM's console tabs: the pages with its serial terminal and its display, and the tickets their websockets need."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404, HttpRequest

from hypervisors.models import VirtualMachine
from hypervisors.vms.console import vm_console_unavailable
from hypervisors.vms.graphics import vm_graphics_unavailable, vm_has_graphics
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


class VMGraphicsMixin(VMConsoleMixin):
    """The graphical console's pages exist only for VMs of an image that declares one (else 404)."""

    console_kind = ConsoleKind.GRAPHICAL
    ticket_url_name = "vm-graphics-ticket"

    def get_object(self, request: HttpRequest, lookup: Any) -> VirtualMachine:
        vm = vm_get(request.user, lookup)
        if not vm_has_graphics(vm):
            raise Http404("This VM has no graphical console.")
        return vm

    def unavailable(self, obj: models.Model) -> str:
        assert isinstance(obj, VirtualMachine)
        return vm_graphics_unavailable(obj)


class VMGraphicsView(VMGraphicsMixin, ConsolePageView):
    """The VM's display in the browser (noVNC)."""

    template_name = "hypervisors/vm_graphics.html"


class VMGraphicsTicketView(VMGraphicsMixin, ConsoleTicketView):
    """A one-time ticket for the VM's graphics websocket."""
