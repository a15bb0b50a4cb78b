"""First boot on the real stack: a tiny guest asked for with an SSH key and a runcmd, built by a Celery worker on
``qemu:///system`` with its NoCloud seed, configures itself from it and takes a DHCP lease the portal then shows.

The guest is spoken to only through its serial console; nothing is sent to its address.
"""

from __future__ import annotations

import libvirt
import pytest
from django.test import Client

from hypervisors.hosts.inventory import host_reconcile
from hypervisors.models import VirtualMachine, VMInterface
from hypervisors.vms.cloud_init import seed_label, seed_read
from hypervisors.vms.services import vm_action_request
from portal.choices import ConsoleKind, JobState
from portal.consoles import console_ticket_issue
from portal.models import ResourceRequest
from portal.services import request_approve
from portal.ssh_keys import ssh_key_add
from tests.factories import UserFactory
from tests.support.keys import public_line
from tests.support.processes import job_wait
from tests.support.qemu import GUEST_BANNER, banner_count, console_log
from tests.support.stack import wait_until
from tests.support.websockets import communicator, read_until, run

pytestmark = [pytest.mark.integration]

BUILD_TIMEOUT = 180
BOOT_TIMEOUT = 120
#: The guest asks for its lease in the background after boot; dnsmasq answers within seconds.
LEASE_TIMEOUT = 90

USER_DATA = "#cloud-config\nruncmd:\n  - echo first-boot-$((6*7)) > /root/runcmd.out\n"


@pytest.fixture
def seeded_vm(qemu_host, guest_image, live_team, live_member, celery_worker_process) -> VirtualMachine:
    """One tiny guest asked for through the page with a key and user-data, approved and booted; shared by the checks."""
    key = ssh_key_add(actor=live_member, name="laptop", public_key=public_line("ed25519"))
    client = Client()
    client.force_login(live_member)
    response = client.post(
        "/vms/new/",
        {
            "name": "seeded",
            "team": live_team.pk,
            "image": guest_image.pk,
            "vcpus": 1,
            "memory_mib": 96,
            "disk_gib": 1,
            "ssh_keys": [key.pk],
            "user_data": USER_DATA,
            "justification": "first boot",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    request = ResourceRequest.objects.get(team=live_team, name="seeded")
    admin = UserFactory(username="approver", is_staff=True, is_superuser=True)
    job = job_wait(request_approve(actor=admin, request_id=request.pk).pk, BUILD_TIMEOUT, "the build")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    vm = VirtualMachine.objects.select_related("host").get(request=request)
    wait_until(lambda: banner_count(vm.domain_name) >= 1, BOOT_TIMEOUT, "the guest to boot")
    return vm


def test_a_guest_takes_its_name_key_and_runcmd_from_its_seed_and_shows_its_lease(seeded_vm, live_member):
    vm = seeded_vm
    key = live_member.ssh_keys.get()
    conn = libvirt.open("qemu:///system")
    try:
        document = conn.lookupByUUIDString(str(vm.uuid)).XMLDesc(0)
        assert "device='cdrom'" in document or 'device="cdrom"' in document
        pool = conn.storagePoolLookupByName(vm.host.storage_pool)
        pool.refresh(0)
        path = pool.storageVolLookupByName(vm.seed_volume_name).path()
    finally:
        conn.close()
    with open(path, "rb") as seed:
        image = seed.read()
    assert seed_label(image) == "cidata"
    assert b"local-hostname: seeded" in seed_read(image)["meta-data"]
    assert "portal-guest: hostname seeded" in console_log(vm.domain_name).read_text(errors="replace")

    # Deleting the key now changes nothing of what the VM was given.
    key_line = key.public_key
    key.delete()
    ticket = console_ticket_issue(actor=live_member, target=vm, team=vm.team, kind=ConsoleKind.SERIAL)
    socket = communicator(f"/ws/vms/{vm.uuid}/console/", user=live_member, ticket=ticket)

    async def body() -> None:
        assert (await socket.connect())[0]
        await read_until(socket, lambda output, _m: GUEST_BANNER.encode() in output)
        await socket.send_to(bytes_data=b"echo name=$(hostname); cat /root/.ssh/authorized_keys /root/runcmd.out\r")
        await read_until(
            socket,
            lambda output, _m: (
                b"name=seeded" in output and key_line.split()[1].encode() in output and b"first-boot-42" in output
            ),
        )
        await socket.disconnect()

    run(body)

    def leased() -> bool:
        host_reconcile(host_id=vm.host_id)  # what beat runs every minute; the page reads only its rows
        return any(card.ip_addresses for card in VMInterface.objects.filter(vm=vm))

    wait_until(leased, LEASE_TIMEOUT, "the guest's DHCP lease to reach its row", interval=2)
    address = VMInterface.objects.filter(vm=vm).exclude(ip_addresses=[]).get().ip_addresses[0]
    client = Client()
    client.force_login(live_member)
    assert address in client.get(f"/vms/{vm.uuid}/").content.decode()
    assert address in client.get("/vms/").content.decode()

    job = job_wait(vm_action_request(actor=live_member, vm_id=vm.pk, slug="delete").pk, 120, "the delete")
    assert job.state == JobState.SUCCEEDED, job.error
    conn = libvirt.open("qemu:///system")
    try:
        pool = conn.storagePoolLookupByName(vm.host.storage_pool)
        pool.refresh(0)
        assert vm.seed_volume_name not in pool.listVolumes()
    finally:
        conn.close()
