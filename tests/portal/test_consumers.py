"""The ticket rules of console websockets, each against the real ASGI application (Origin check, session, routing).

A stopped VM stands for the resource: an admitted socket is accepted and then told to start
the VM, so these tests need no hypervisor; the relays themselves are tested on the real stack.
Every rule holds for each console of a VM: the serial console and the graphical one (VNC).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.choices import VMState
from portal.choices import AuditResult, ConsoleKind
from portal.consoles import console_ticket_issue
from portal.consumers import REFUSED
from portal.models import AuditEvent, ConsoleTicket
from tests.factories import ImageFactory, VirtualMachineFactory
from tests.support.websockets import communicator, next_json, run

# Consumers reach the database through channels' database_sync_to_async, which closes connections
# between calls as a server does: the test must not hold one open transaction around them.
pytestmark = pytest.mark.django_db(transaction=True)


#: Each console kind of a VM and the last part of its websocket's path.
VM_CONSOLES = {ConsoleKind.SERIAL: "console", ConsoleKind.GRAPHICAL: "graphics"}


@pytest.fixture(params=sorted(VM_CONSOLES))
def kind(request) -> str:
    return request.param


@pytest.fixture
def vm(team, member):
    image = ImageFactory(graphical_console=True)
    return VirtualMachineFactory(team=team, owner=member, image=image, state=VMState.SHUTOFF)


@pytest.fixture
def path_of(kind):
    return lambda vm: f"/ws/vms/{vm.uuid}/{VM_CONSOLES[kind]}/"


@pytest.fixture
def ticket_for(kind):
    return lambda user, vm, **options: console_ticket_issue(actor=user, target=vm, team=vm.team, kind=kind, **options)


def attempt(path: str, **options) -> tuple[bool, object]:
    """Connect and return (accepted, close code or first message)."""

    socket = communicator(path, **options)

    async def body():
        accepted, code = await socket.connect()
        if not accepted:
            return False, code
        message = await next_json(socket)
        await socket.disconnect()
        return True, message

    return run(body)


def test_a_valid_ticket_is_accepted_and_a_stopped_vm_says_so(vm, member, path_of, ticket_for):
    accepted, message = attempt(path_of(vm), user=member, ticket=ticket_for(member, vm))
    assert accepted
    assert message == {"type": "unavailable", "message": "Start the VM to use its console."}


def test_no_ticket_is_refused(vm, member, kind, path_of, ticket_for):
    assert attempt(path_of(vm), user=member) == (False, REFUSED)
    assert AuditEvent.objects.filter(action=f"console.{kind}", result=AuditResult.DENIED).count() == 1


def test_a_used_ticket_is_refused(vm, member, path_of, ticket_for):
    ticket = ticket_for(member, vm)
    assert attempt(path_of(vm), user=member, ticket=ticket)[0]
    assert attempt(path_of(vm), user=member, ticket=ticket) == (False, REFUSED)


def test_another_users_ticket_is_refused(vm, member, team_admin, path_of, ticket_for):
    ticket = ticket_for(team_admin, vm)
    assert attempt(path_of(vm), user=member, ticket=ticket) == (False, REFUSED)
    # The refusal did not spend it: its owner can still use it.
    assert attempt(path_of(vm), user=team_admin, ticket=ticket)[0]


def test_an_expired_ticket_is_refused(vm, member, path_of, ticket_for):
    ticket = ticket_for(member, vm)
    ConsoleTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert attempt(path_of(vm), user=member, ticket=ticket) == (False, REFUSED)


def test_a_ticket_lives_thirty_seconds(vm, member, ticket_for):
    ticket_for(member, vm)
    row = ConsoleTicket.objects.get()
    assert timedelta(seconds=29) < row.expires_at - row.created_at <= timedelta(seconds=31)


def test_a_foreign_origin_is_refused(vm, member, path_of, ticket_for):
    accepted, _code = attempt(path_of(vm), user=member, ticket=ticket_for(member, vm), origin="http://evil.example")
    assert not accepted
    assert ConsoleTicket.objects.get().used_at is None


def test_without_a_session_the_ticket_is_refused(vm, member, path_of, ticket_for):
    assert attempt(path_of(vm), ticket=ticket_for(member, vm)) == (False, REFUSED)


def test_a_ticket_for_another_resource_is_refused(vm, member, team, path_of, ticket_for):
    other = VirtualMachineFactory(team=team, owner=member, state=VMState.SHUTOFF)
    assert attempt(path_of(other), user=member, ticket=ticket_for(member, vm)) == (False, REFUSED)


def test_a_ticket_for_another_kind_is_refused(vm, member, kind, path_of):
    for other in sorted(set(ConsoleKind) - {kind}):
        ticket = console_ticket_issue(actor=member, target=vm, team=vm.team, kind=other)
        assert attempt(path_of(vm), user=member, ticket=ticket) == (False, REFUSED)


def test_a_viewer_is_refused_even_with_a_ticket_made_while_a_member(vm, member, path_of, ticket_for):
    ticket = ticket_for(member, vm)
    member.memberships.update(role="viewer")
    assert attempt(path_of(vm), user=member, ticket=ticket) == (False, REFUSED)


def test_another_team_is_refused_without_an_audit_naming_the_vm(vm, member, outsider, path_of, ticket_for):
    ticket = ticket_for(member, vm)
    assert attempt(path_of(vm), user=outsider, ticket=ticket) == (False, REFUSED)
    assert not AuditEvent.objects.filter(actor=outsider).exists()


def test_only_the_digest_is_stored(vm, member, ticket_for):
    ticket = ticket_for(member, vm)
    row = ConsoleTicket.objects.get()
    assert ticket not in row.digest and len(row.digest) == 64
