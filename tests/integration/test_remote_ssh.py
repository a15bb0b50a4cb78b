"""A host reached over ``qemu+ssh://``: a private sshd on 127.0.0.1 in front of this machine's own libvirtd.

The portal probes it, a real worker builds a VM on it over SSH (its first-boot seed
uploaded through libvirt's stream), the domain is checked through a local
``qemu:///system`` connection, and the guest's serial console answers over SSH.
"""

from __future__ import annotations

import libvirt
import pytest

from hypervisors.choices import VMState
from hypervisors.hosts import inventory
from hypervisors.hosts.services import host_probe
from hypervisors.models import Host
from portal.choices import ConsoleKind
from portal.consoles import console_ticket_issue
from tests.support.qemu import TEST_POOL, TEST_POOL_PATH, banner_count, vm_build
from tests.support.stack import wait_until
from tests.support.websockets import communicator, has, read_until, run

pytestmark = [pytest.mark.integration]


def test_vm_built_on_a_qemu_ssh_host(
    qemu_host, guest_image, live_team, live_member, celery_worker_process, ssh_loopback
):
    # Only the SSH host takes new VMs; qemu_host stays registered so that its clean-up removes the domain.
    qemu_host.accepts_new_vms = False
    qemu_host.save()
    remote = Host.objects.create(
        name="loopback-ssh",
        uri=ssh_loopback.uri,
        storage_pool=TEST_POOL,
        storage_path=TEST_POOL_PATH,
        network="default",
    )

    remote = host_probe(host_id=remote.pk)
    assert remote.is_reachable, f"{remote.last_error}\n{ssh_loopback.log()}"
    local = libvirt.open("qemu:///system")
    try:
        assert remote.hostname == local.getHostname()
        assert remote.libvirt_version == qemu_host.libvirt_version != ""
        assert remote.domain_type == qemu_host.domain_type
        assert (remote.cpus, remote.memory_mib) == (qemu_host.cpus, qemu_host.memory_mib)
        assert ssh_loopback.logins() >= 1, "the probe did not go through the private sshd"

        logins_before_build = ssh_loopback.logins()
        vm = vm_build(live_team, live_member, guest_image, "remote", celery_worker_process.log)
        assert vm.host == remote
        assert vm.state == VMState.RUNNING
        assert ssh_loopback.logins() > logins_before_build, "the worker did not reach the host over SSH"

        domain = local.lookupByUUIDString(str(vm.uuid))
        assert domain.name() == vm.domain_name
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        pool = local.storagePoolLookupByName(TEST_POOL)
        pool.refresh(0)
        assert vm.volume_name in pool.listVolumes()
        assert vm.seed_volume_name in pool.listVolumes(), "the first-boot seed was not uploaded over SSH"
        wait_until(lambda: banner_count(vm.domain_name) >= 1, 120, "the guest's boot banner")

        # Its serial console comes through libvirt's stream over the same SSH connection.
        logins_before_console = ssh_loopback.logins()
        ticket = console_ticket_issue(actor=live_member, target=vm, team=vm.team, kind=ConsoleKind.SERIAL)
        socket = communicator(f"/ws/vms/{vm.uuid}/console/", user=live_member, ticket=ticket)

        async def body() -> None:
            assert (await socket.connect())[0]
            await read_until(socket, has("open"))
            await socket.send_to(bytes_data=b"echo seen-as-$(hostname)\r")
            await read_until(socket, lambda output, _m: b"seen-as-remote" in output)
            await socket.disconnect()

        run(body)
        assert ssh_loopback.logins() > logins_before_console, "the console did not go through the private sshd"

        # The reconcile reads the host over SSH too.
        report = inventory.host_reconcile(host_id=remote.pk)
        assert report.reachable
        assert vm.domain_name not in [row.name for row in remote.unmanaged_domains.all()]
    finally:
        local.close()
