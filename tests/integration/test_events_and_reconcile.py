"""Changes made outside the portal (``virsh`` on the host) reach the VM rows: by events, and by the reconcile.

The event listener runs as its own process (``manage.py listen_events``), the
reconcile through a real worker; libvirt is driven with the ``virsh`` command,
as an administrator would.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from hypervisors.choices import VMState
from hypervisors.hosts import inventory
from hypervisors.models import Host, UnmanagedDomain, VirtualMachine
from hypervisors.tasks import hosts_reconcile
from portal.models import AuditEvent
from tests.support.processes import LISTENER_COMMAND
from tests.support.qemu import virsh, vm_build
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]


#: The listener must reflect a change made with virsh within this many seconds.
EVENT_DELAY = 5


def _vm_state(vm: VirtualMachine) -> str:
    return VirtualMachine.objects.values_list("state", flat=True).get(pk=vm.pk)


def _tiny_domain_xml(name: str, domain_uuid: str) -> str:
    """A domain defined by hand on the host: no disk, never started."""
    domain = ET.Element("domain", {"type": "qemu"})
    ET.SubElement(domain, "name").text = name
    ET.SubElement(domain, "uuid").text = domain_uuid
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = "32"
    ET.SubElement(domain, "vcpu").text = "1"
    os_element = ET.SubElement(domain, "os")
    ET.SubElement(os_element, "type").text = "hvm"
    return ET.tostring(domain, encoding="unicode")


def test_changes_outside_the_portal_reach_the_rows(
    qemu_host, guest_image, live_team, live_member, celery_worker_process, processes, tmp_path
):
    vm = vm_build(live_team, live_member, guest_image, "drift", celery_worker_process.log)
    assert _vm_state(vm) == VMState.RUNNING
    try:
        # 1. Events: the listener sees `virsh destroy` and stores it at once.
        listener = processes("listener", [*LISTENER_COMMAND, "--interval", "1"])
        wait_until(
            lambda: f"Watching host {qemu_host.name}" in listener.log() or not listener.running(),
            60,
            "the listener to watch the host",
        )
        assert listener.running(), listener.log()
        virsh("destroy", vm.domain_name)
        wait_until(lambda: _vm_state(vm) == VMState.SHUTOFF, EVENT_DELAY, "the event to mark the VM shut off")
        listener.stop(signal.SIGINT)  # it ends its loop and closes its connections
        assert not listener.running()

        # 2. Reconcile: with nobody listening, `virsh start` goes unnoticed until the reconcile,
        #    here the periodic task run by the worker.
        virsh("start", vm.domain_name)
        assert _vm_state(vm) == VMState.SHUTOFF
        hosts_reconcile.delay()
        wait_until(lambda: _vm_state(vm) == VMState.RUNNING, 60, "the reconcile to mark the VM running")
        qemu_host.refresh_from_db()
        assert qemu_host.is_reachable

        # 3. A domain undefined on the host: the VM is marked missing (and audited).
        virsh("destroy", vm.domain_name)
        virsh("undefine", vm.domain_name)
        report = inventory.host_reconcile(host_id=qemu_host.pk)
        assert report.reachable
        assert str(vm) in report.missing
        assert _vm_state(vm) == VMState.MISSING
        assert AuditEvent.objects.filter(action="vm.missing", target_id=str(vm.pk)).exists()

        # 4. A domain defined on the host without the portal: listed as unmanaged, with its facts.
        outside_uuid = str(uuid.uuid4())
        outside_name = f"{live_team.slug}.outside"
        xml_path = tmp_path / "outside.xml"
        xml_path.write_text(_tiny_domain_xml(outside_name, outside_uuid))
        virsh("define", str(xml_path))
        report = inventory.host_reconcile(host_id=qemu_host.pk)
        unmanaged = UnmanagedDomain.objects.get(host=qemu_host, uuid=outside_uuid)
        assert (unmanaged.name, unmanaged.state, unmanaged.vcpus) == (outside_name, VMState.SHUTOFF, 1)
        assert not VirtualMachine.objects.filter(uuid=outside_uuid).exists()
        # ... and forgotten once it is gone from the host.
        virsh("undefine", outside_name)
        inventory.host_reconcile(host_id=qemu_host.pk)
        assert not UnmanagedDomain.objects.filter(uuid=outside_uuid).exists()
    finally:
        _remove_volume(qemu_host, vm.volume_name)


def _remove_volume(host: Host, name: str) -> None:
    """The disk of a VM whose domain was undefined behind the portal's back stays in the pool: remove it."""
    conn = libvirt.open("qemu:///system")
    try:
        pool = conn.storagePoolLookupByName(host.storage_pool)
        pool.refresh(0)
        with contextlib.suppress(libvirt.libvirtError):
            pool.storageVolLookupByName(name).delete(0)
    finally:
        conn.close()
