"""A team's top page on the real ``qemu:///system``: a running guest of the team arrives as a row,
with its memory and, from the second reading on, a CPU rate; a domain of no team stays out."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from hypervisors.hosts.top_pollers import pollers
from tests.factories import VirtualMachineFactory
from tests.support.websockets import communicator, next_json, run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def quick_refresh(settings):
    settings.PORTAL_TOP_INTERVAL_SECONDS = 0.5


def tiny_guest_xml(name: str, domain_uuid: str) -> str:
    """A diskless guest (32 MiB, 1 vCPU): it runs at once, sitting in its firmware with nothing to boot."""
    domain = ET.Element("domain", {"type": "qemu"})
    ET.SubElement(domain, "name").text = name
    ET.SubElement(domain, "uuid").text = domain_uuid
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = "32"
    ET.SubElement(domain, "vcpu").text = "1"
    os_element = ET.SubElement(domain, "os")
    ET.SubElement(os_element, "type").text = "hvm"
    return ET.tostring(domain, encoding="unicode")


def test_a_running_guest_of_the_team_arrives_as_a_row(qemu_host, live_team, live_member):
    conn = libvirt.open("qemu:///system")
    guest_uuid = str(uuid.uuid4())
    # Named after the team, so the host fixture removes it afterwards whatever happens here.
    conn.defineXML(tiny_guest_xml(f"{live_team.slug}.top", guest_uuid)).create()
    conn.close()
    VirtualMachineFactory(team=live_team, owner=live_member, host=qemu_host, uuid=guest_uuid, memory_mib=32)
    socket = communicator(f"/ws/teams/{live_team.slug}/top/", user=live_member)

    async def body():
        accepted, code = await socket.connect()
        assert accepted, code
        rows = []
        while len(rows) < 2 or rows[-1]["cpu_percent"] is None:
            message = await next_json(socket, timeout=30)
            assert message["type"] != "error", message
            if message["type"] == "rows" and message["rows"]:
                rows.append(message["rows"][0])
            assert len(rows) <= 5, f"no CPU rate after 5 readings: {rows}"
        await socket.disconnect()
        return rows

    rows = run(body)
    assert {row["uuid"] for row in rows} == {guest_uuid}
    last = rows[-1]
    assert last["state"] == "running"
    assert last["memory_max_kib"] == 32 * 1024
    assert last["cpu_percent"] >= 0
    assert pollers.poller_of(qemu_host.pk) is None
