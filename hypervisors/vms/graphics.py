"""A VM's graphical console (its VNC display): what the graphics websocket and page may ask of it, through the driver.

The same rules as the serial console (``hypervisors.vms.console``): the VM is found through the
user's teams, a session ends when the VM stops or is deleted. Only VMs of an image that declares
a graphical console have a display, and only on a host the relay can reach.
"""

from __future__ import annotations

from hypervisors.drivers import DomainNotFound, DriverError
from hypervisors.drivers.console import ConsoleNotRunning
from hypervisors.drivers.graphics import GraphicsRelay, GraphicsUnavailable, graphics_open, graphics_reachable
from hypervisors.models import VirtualMachine
from hypervisors.vms.console import NOT_RUNNING, vm_console_unavailable
from portal.consumers import ConsoleUnavailable, Ended, Output

#: What a VM of an image without a display says.
NO_DISPLAY = "This VM's image has no graphical console."
#: What a VM on a host reached over the network says: the relay cannot reach its display.
REMOTE_HOST = (
    "Graphical consoles are not available on this VM's host: it is reached over the network, and libvirt "
    "cannot hand the display's socket over such a connection. The serial console works there."
)


def vm_has_graphics(vm: VirtualMachine) -> bool:
    """Whether the VM's page offers a graphical console tab (its image declares one)."""
    return vm.image is not None and vm.image.graphical_console


def vm_graphics_unavailable(vm: VirtualMachine) -> str:
    """Why the VM's graphical console cannot open now (from its rows), or empty when it may."""
    if not vm_has_graphics(vm):
        return NO_DISPLAY
    reason = vm_console_unavailable(vm)
    if reason:
        return reason
    assert vm.host is not None
    return "" if graphics_reachable(vm.host.uri) else REMOTE_HOST


def vm_graphics_open(vm: VirtualMachine, *, output: Output, ended: Ended) -> GraphicsRelay:
    """Open a session on the VM's display. Raises ``ConsoleUnavailable`` with a message for the person."""
    reason = vm_graphics_unavailable(vm)
    if reason:
        raise ConsoleUnavailable(reason)
    assert vm.host is not None
    try:
        return graphics_open(vm.host.uri, str(vm.uuid), output=output, ended=ended)
    except (ConsoleNotRunning, DomainNotFound) as error:
        raise ConsoleUnavailable(NOT_RUNNING) from error
    except GraphicsUnavailable as error:
        raise ConsoleUnavailable(str(error)) from error
    except DriverError as error:
        raise ConsoleUnavailable(f"The graphical console could not be opened: {error}") from error
