"""Browser consoles on the real stack: a tiny VM's serial console on ``qemu:///system`` and a shell in a
container on the real Docker engine, each through the real ASGI application's websocket.

The tests speak to the guest and the container only through the console (no network traffic),
and poll with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from containers.models import Container, ContainerImage
from hypervisors.choices import VMState
from hypervisors.drivers import driver_for
from hypervisors.models import VirtualMachine
from hypervisors.vms.provisioning import domain_spec
from portal.choices import ConsoleKind
from portal.consoles import console_ticket_issue
from portal.models import AuditEvent
from tests.factories import ContainerFactory, VirtualMachineFactory
from tests.support import docker_engine as eng
from tests.support.qemu import GUEST_BANNER, banner_count, virsh
from tests.support.stack import wait_until
from tests.support.websockets import communicator, has, read_until, run

pytestmark = [pytest.mark.integration]

BOOT_TIMEOUT = 120


@pytest.fixture
def running_vm(qemu_host, guest_image, live_team, live_member) -> VirtualMachine:
    """A tiny guest (96 MiB, 1 vCPU) defined and started straight through the driver, booted to its shell.

    Its image declares a graphical console, so the same guest also serves the tests of the VNC relay.
    """
    guest_image.graphical_console = True
    guest_image.save(update_fields=["graphical_console"])
    vm = VirtualMachineFactory(
        team=live_team,
        owner=live_member,
        host=qemu_host,
        image=guest_image,
        name="console",
        domain_name=f"{live_team.slug}.console",
        memory_mib=96,
        vcpus=1,
        state=VMState.RUNNING,
    )
    with driver_for(qemu_host.uri) as driver:
        driver.pool_ensure(name=qemu_host.storage_pool, path=qemu_host.storage_path)
        disk = driver.volume_ensure(pool=qemu_host.storage_pool, name=f"{vm.domain_name}.qcow2", capacity_gib=1)
        driver.domain_define(domain_spec(vm, disk))
        driver.domain_start(str(vm.uuid))
    wait_until(lambda: banner_count(vm.domain_name) >= 1, BOOT_TIMEOUT, "the guest to boot")
    return vm


def test_the_serial_console_shows_recent_output_runs_commands_and_can_be_taken_over(running_vm, live_member):
    vm = running_vm
    path = f"/ws/vms/{vm.uuid}/console/"

    def ticket(take_over: bool = False) -> str:
        return console_ticket_issue(
            actor=live_member, target=vm, team=vm.team, kind=ConsoleKind.SERIAL, take_over=take_over
        )

    first = communicator(path, user=live_member, ticket=ticket())
    second = communicator(path, user=live_member, ticket=ticket())
    third = communicator(path, user=live_member, ticket=ticket(take_over=True))

    async def body() -> None:
        assert (await first.connect())[0]
        # The boot log is there at once: the recent output comes from the serial log.
        await read_until(first, lambda output, messages: GUEST_BANNER.encode() in output)
        await first.send_to(bytes_data=b"echo con$((6*7))sole\r")
        await read_until(first, lambda output, _messages: b"con42sole" in output)

        assert (await second.connect())[0]
        await read_until(second, has("busy"))

        assert (await third.connect())[0]
        await read_until(third, has("open"))
        await read_until(
            first, lambda _o, messages: any(m.get("reason") == "taken_over" for m in messages if m["type"] == "ended")
        )
        await third.send_to(bytes_data=b"echo taken$((1+1))\r")
        await read_until(third, lambda output, _messages: b"taken2" in output)

        virsh("destroy", str(vm.uuid))
        await read_until(
            third, lambda _o, messages: any(m.get("reason") == "stopped" for m in messages if m["type"] == "ended")
        )
        for socket in (first, second, third):
            await socket.disconnect()

    run(body)
    events = list(AuditEvent.objects.filter(action="console.serial").order_by("id"))
    assert [event.detail.split("reason=")[1] for event in events] == ["taken_over", "stopped"]
    assert all("bytes_in=" in event.detail and "con42sole" not in event.detail for event in events)
    assert "bytes_in=0 " not in events[0].detail and "client=" in events[0].detail


@pytest.fixture
def running_container(local_engine, live_team, live_member) -> Iterator[Container]:
    """A busybox container running as uid 1000, made on the engine by the test and known to the portal."""
    client = eng.docker_client()
    try:
        made = client.containers.run(
            eng.BUSYBOX, ["sleep", "3600"], name=f"{live_team.slug}.shell", user="1000:1000", detach=True
        )
    finally:
        client.close()
    yield ContainerFactory(
        team=live_team,
        owner=live_member,
        docker_host=local_engine,
        image=ContainerImage.objects.get(docker_host=local_engine),
        name="shell",
        engine_id=made.id,
    )


@pytest.fixture
def local_engine(transactional_db, live_team):
    yield from eng.local_engine_for(live_team)


def test_the_container_shell_runs_id_as_the_containers_user_and_says_when_it_exits(running_container, live_member):
    container = running_container
    ticket = console_ticket_issue(actor=live_member, target=container, team=container.team, kind=ConsoleKind.SHELL)
    socket = communicator(f"/ws/containers/{container.pk}/shell/", user=live_member, ticket=ticket)

    async def body() -> None:
        assert (await socket.connect())[0]
        await read_until(socket, has("open"))
        await socket.send_to(text_data=json.dumps({"type": "resize", "cols": 132, "rows": 40}))
        await socket.send_to(bytes_data=b"id; stty size\r")
        await read_until(socket, lambda output, _m: b"uid=1000" in output and b"40 132" in output)
        await socket.send_to(bytes_data=b"exit\r")
        await read_until(
            socket, lambda _o, messages: any(m.get("reason") == "exited" for m in messages if m["type"] == "ended")
        )
        await socket.disconnect()

    run(body)
    event = AuditEvent.objects.get(action="console.shell")
    assert "reason=exited" in event.detail and "uid=" not in event.detail
