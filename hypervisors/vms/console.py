"""A VM's serial console: what the console websocket and page may ask of it, through the driver.

The consumer and the page are front doors; this module is the one place that turns a VM
row into a console on its host, reads the recent output, and tells why a console ended.
"""

from __future__ import annotations

from typing import Any

from hypervisors.choices import VMState
from hypervisors.drivers import DomainNotFound, DriverError, driver_for
from hypervisors.drivers.console import ConsoleHeld, ConsoleNotRunning, SerialConsole, console_open, console_recent
from hypervisors.models import VirtualMachine
from hypervisors.vms.selectors import vms_for
from portal.choices import ConsoleEnd
from portal.consoles import console_taken_over
from portal.consumers import ConsoleBusy, ConsoleUnavailable, Ended, Output
from portal.models import ConsoleTicket

#: What a VM that does not run says instead of a console.
NOT_RUNNING = "Start the VM to use its console."


def vm_console_find(user: Any, vm_uuid: str) -> VirtualMachine | None:
    """The VM with this UUID among the user's teams' VMs, or None."""
    return vms_for(user).filter(uuid=vm_uuid).first()


def vm_console_unavailable(vm: VirtualMachine) -> str:
    """Why the VM's console cannot open now (from its row), or empty when it may."""
    if vm.state != VMState.RUNNING:
        return NOT_RUNNING
    return "" if vm.host is not None else "This VM has no host yet."


def vm_console_open(vm: VirtualMachine, *, take_over: bool, output: Output, ended: Ended) -> SerialConsole:
    """Attach to the VM's serial console. Raises ``ConsoleUnavailable`` or ``ConsoleBusy`` with a message."""
    reason = vm_console_unavailable(vm)
    if reason:
        raise ConsoleUnavailable(reason)
    assert vm.host is not None
    try:
        return console_open(vm.host.uri, str(vm.uuid), take_over=take_over, output=output, ended=ended)
    except ConsoleHeld as error:
        raise ConsoleBusy("Another session has this console open.") from error
    except (ConsoleNotRunning, DomainNotFound) as error:
        raise ConsoleUnavailable(NOT_RUNNING) from error
    except DriverError as error:
        raise ConsoleUnavailable(f"The console could not be opened: {error}") from error


def vm_console_recent(vm: VirtualMachine) -> bytes:
    """The last 64 KiB the VM's serial port printed (boot log, login prompt); empty when none can be read."""
    if vm.host is None:
        return b""
    try:
        return console_recent(vm.host.uri, str(vm.uuid))
    except DriverError:
        return b""


def vm_console_check(vm: VirtualMachine) -> str | None:
    """A ``ConsoleEnd`` value when the VM was deleted or stopped since the console opened (by its row), else None."""
    current = VirtualMachine.objects.filter(pk=vm.pk).values_list("state", flat=True).first()
    if current is None or current == VMState.MISSING:
        return ConsoleEnd.DELETED
    return None if current == VMState.RUNNING else ConsoleEnd.STOPPED


def vm_console_end_explain(vm: VirtualMachine, ticket: ConsoleTicket, reason: str) -> str:
    """Why the console stream ended: another session took it, the VM was deleted or stopped, or the host went away."""
    if console_taken_over(ticket):
        return ConsoleEnd.TAKEN_OVER
    checked = vm_console_check(vm)
    if checked is not None:
        return checked
    assert vm.host is not None
    try:
        with driver_for(vm.host.uri) as driver:
            state = driver.domain_status(str(vm.uuid)).state
    except DomainNotFound:
        return ConsoleEnd.DELETED
    except DriverError:
        return ConsoleEnd.LOST
    return ConsoleEnd.LOST if state == VMState.RUNNING else ConsoleEnd.STOPPED
