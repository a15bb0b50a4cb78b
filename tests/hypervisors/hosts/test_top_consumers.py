"""The top websockets against the real ASGI application, fed by libvirt's ``test:///default`` host:
rows pushed every refresh, a team's page showing only its own VMs, one poller for all watchers."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from hypervisors.hosts.top_pollers import pollers
from portal.choices import Role
from portal.models import Membership
from tests.factories import MembershipFactory, UserFactory, VirtualMachineFactory
from tests.support.websockets import communicator, next_json, run

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER = "<domain type='test'><name>stranger</name><memory>65536</memory><os><type>hvm</type></os></domain>"


@pytest.fixture(autouse=True)
def quick_refresh(settings):
    settings.PORTAL_TOP_INTERVAL_SECONDS = 0.1


@pytest.fixture
def team_vm(team, member, conn, libvirt_test_host):
    """The team's VM is the test host's running domain "test"; another domain, not the team's, runs beside it."""
    conn.createXML(STRANGER, 0)
    return VirtualMachineFactory(
        team=team, owner=member, host=libvirt_test_host, uuid=conn.lookupByName("test").UUIDString()
    )


async def rows_pushes(socket, count: int) -> list[dict]:
    pushes: list[dict] = []
    while len(pushes) < count:
        message = await next_json(socket)
        if message["type"] == "rows":
            pushes.append(message)
    return pushes


def watch(path: str, user, count: int = 2) -> tuple[dict, list[dict]]:
    """Open the top websocket, take ``count`` pushes of rows, leave."""
    socket = communicator(path, user=user)

    async def body():
        accepted, code = await socket.connect()
        assert accepted, code
        opened = await next_json(socket)
        pushes = await rows_pushes(socket, count)
        await socket.disconnect()
        return opened, pushes

    return run(body)


def test_a_host_page_gets_every_domain_every_refresh(staff, team_vm, libvirt_test_host):
    opened, pushes = watch(f"/ws/hosts/{libvirt_test_host.pk}/top/", staff)

    assert opened == {"type": "open", "hosts": [libvirt_test_host.pk]}
    assert len(pushes) == 2
    for push in pushes:
        assert push["host"] == libvirt_test_host.pk
        assert {row["name"]: row["state"] for row in push["rows"]} == {"test": "running", "stranger": "running"}
    row = next(row for row in pushes[-1]["rows"] if row["name"] == "test")
    assert row["memory_max_kib"] and row["vcpus"]
    assert pollers.poller_of(libvirt_test_host.pk) is None, "the last watcher left: the poller must stop"


def test_a_team_page_gets_only_its_vms(viewer, team_vm, libvirt_test_host):
    _, pushes = watch("/ws/teams/blue/top/", viewer)

    for push in pushes:
        assert [row["uuid"] for row in push["rows"]] == [str(team_vm.uuid)]


def test_staff_without_the_view_permissions_see_only_their_teams_vms_on_a_host(team, team_vm, libvirt_test_host):
    """As on the host's page: the names of other teams' machines are for those allowed to view them."""
    operator = UserFactory(username="operator", is_staff=True)
    MembershipFactory(user=operator, team=team, role=Role.VIEWER)

    _, pushes = watch(f"/ws/hosts/{libvirt_test_host.pk}/top/", operator, count=1)

    assert [row["name"] for row in pushes[0]["rows"]] == ["test"]


def test_watchers_of_one_host_share_its_poller(staff, member, team_vm, libvirt_test_host):
    host_socket = communicator(f"/ws/hosts/{libvirt_test_host.pk}/top/", user=staff)
    team_socket = communicator("/ws/teams/blue/top/", user=member)

    async def body():
        assert (await host_socket.connect())[0]
        assert (await team_socket.connect())[0]
        poller = pollers.poller_of(libvirt_test_host.pk)
        assert poller is not None and len(poller.watchers) == 2
        await rows_pushes(host_socket, 2)
        await rows_pushes(team_socket, 2)
        await host_socket.disconnect()
        assert pollers.poller_of(libvirt_test_host.pk) is poller
        await team_socket.disconnect()
        return poller

    poller = run(body)
    assert pollers.poller_of(libvirt_test_host.pk) is None
    poller.thread.join(timeout=10)
    assert not poller.thread.is_alive()


def test_a_member_removed_while_watching_is_told_and_let_go(member, team_vm, libvirt_test_host):
    socket = communicator("/ws/teams/blue/top/", user=member)

    async def body():
        assert (await socket.connect())[0]
        await rows_pushes(socket, 1)
        await database_sync_to_async(Membership.objects.filter(user=member).delete)()
        while (message := await next_json(socket))["type"] == "rows":
            pass
        closed = await socket.receive_output(10)
        return message, closed

    message, closed = run(body)
    assert message["type"] == "ended"
    assert closed["type"] == "websocket.close"
    assert pollers.poller_of(libvirt_test_host.pk) is None


def test_a_host_that_does_not_answer_is_said_to_staff_in_full_and_to_a_team_in_short(
    staff, member, team, libvirt_test_host
):
    libvirt_test_host.uri = "test:///no/such/node.xml"
    libvirt_test_host.save()
    VirtualMachineFactory(team=team, owner=member, host=libvirt_test_host)

    def first_error(path: str, user) -> dict:
        socket = communicator(path, user=user)

        async def body():
            assert (await socket.connect())[0]
            while (message := await next_json(socket))["type"] != "error":
                pass
            await socket.disconnect()
            return message

        return run(body)

    for_staff = first_error(f"/ws/hosts/{libvirt_test_host.pk}/top/", staff)
    for_team = first_error("/ws/teams/blue/top/", member)

    assert "no/such/node.xml" in for_staff["message"]
    assert for_team["message"] == "The host does not answer; the rows come back when it does."
