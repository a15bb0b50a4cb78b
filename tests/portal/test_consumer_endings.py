"""Why an open console ends, through the real ASGI application: idleness, a lost role, a stop, a delete.
The same rules hold for each console of a VM: the serial console and the graphical one.

The terminal stands in for the hypervisor's console stream (outside the project); everything
else (routing, session, ticket, re-checks, audit) is the real thing.
"""

from __future__ import annotations

import pytest

from hypervisors.choices import VMState
from hypervisors.models import VirtualMachine
from portal.choices import ConsoleKind, Role
from portal.consoles import console_ticket_issue
from portal.models import AuditEvent, Membership
from tests.factories import ImageFactory, VirtualMachineFactory
from tests.support.websockets import communicator, next_json, run

# Consumers reach the database through channels' database_sync_to_async, which closes connections
# between calls as a server does: the test must not hold one open transaction around them.
pytestmark = pytest.mark.django_db(transaction=True)


class StubTerminal:
    def __init__(self):
        self.sent: list[bytes] = []
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def resize(self, cols: int, rows: int) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def terminal(monkeypatch, settings):
    settings.PORTAL_CONSOLE_CHECK_SECONDS = 0.05
    stub = StubTerminal()
    monkeypatch.setattr("hypervisors.vms.consumers.vm_console_open", lambda vm, **_options: stub)
    monkeypatch.setattr("hypervisors.vms.consumers.vm_graphics_open", lambda vm, **_options: stub)
    monkeypatch.setattr("hypervisors.vms.consumers.vm_console_recent", lambda vm: b"login: ")
    return stub


#: Each console kind of a VM and the last part of its websocket's path.
VM_CONSOLES = {ConsoleKind.SERIAL: "console", ConsoleKind.GRAPHICAL: "graphics"}


@pytest.fixture(params=sorted(VM_CONSOLES))
def kind(request) -> str:
    return request.param


@pytest.fixture
def vm(team, member):
    image = ImageFactory(graphical_console=True)
    return VirtualMachineFactory(team=team, owner=member, image=image, state=VMState.RUNNING)


def session_end(vm, member, change, kind=ConsoleKind.SERIAL) -> dict:
    socket = communicator(
        f"/ws/vms/{vm.uuid}/{VM_CONSOLES[kind]}/",
        user=member,
        ticket=console_ticket_issue(actor=member, target=vm, team=vm.team, kind=kind),
    )

    async def body():
        assert (await socket.connect())[0]
        assert (await next_json(socket))["type"] == "open"
        if kind == ConsoleKind.SERIAL:  # a display has no recent output to show first
            assert (await socket.receive_output(5))["bytes"] == b"login: "
        await socket.send_to(bytes_data=b"root\r")
        await change()
        ended = await next_json(socket)
        await socket.disconnect()
        return ended

    return run(body)


def test_idle_consoles_close(vm, member, terminal, settings, kind):
    settings.PORTAL_CONSOLE_IDLE_SECONDS = 0.2

    async def nothing():
        pass

    ended = session_end(vm, member, nothing, kind)
    assert ended["reason"] == "idle" and "without input" in ended["message"]
    assert terminal.sent == [b"root\r"] and terminal.closed
    event = AuditEvent.objects.get(action=f"console.{kind}")
    shown = 7 if kind == ConsoleKind.SERIAL else 0
    assert f"bytes_in=5 bytes_out={shown} reason=idle" in event.detail and "root" not in event.detail


def test_losing_the_role_closes_the_console(vm, member, terminal, kind):
    from channels.db import database_sync_to_async

    async def demote():
        await database_sync_to_async(Membership.objects.filter(user=member).update)(role=Role.VIEWER)

    assert session_end(vm, member, demote, kind)["reason"] == "role_lost"


def test_a_stopped_vm_closes_the_console(vm, member, terminal, kind):
    from channels.db import database_sync_to_async

    async def stop():
        await database_sync_to_async(VirtualMachine.objects.filter(pk=vm.pk).update)(state=VMState.SHUTOFF)

    ended = session_end(vm, member, stop, kind)
    assert ended == {"type": "ended", "reason": "stopped", "message": "The machine stopped."}


def test_a_deleted_vm_closes_the_console(vm, member, terminal, kind):
    from channels.db import database_sync_to_async

    async def delete():
        await database_sync_to_async(VirtualMachine.objects.filter(pk=vm.pk).delete)()

    assert session_end(vm, member, delete, kind)["reason"] == "deleted"
