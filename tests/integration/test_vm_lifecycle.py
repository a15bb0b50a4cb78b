"""Every action on one VM, through the portal's pages, on a real ``qemu:///system`` domain.

The VM is asked for, approved and built by a real worker; then each action is
asked for through its view, the test waits for the job row, and checks the
result through libvirt (and the guest's serial console), not the portal's rows.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import libvirt
import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import Client

from hypervisors.choices import VMState
from hypervisors.models import Snapshot, VirtualMachine
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from portal.quotas import Amounts, teams_usage
from portal.services import request_approve
from tests.factories import UserFactory
from tests.support.processes import job_wait
from tests.support.qemu import banner_count, console_log
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

#: Seconds a build may take under software emulation on a busy machine.
BUILD_TIMEOUT = 180
#: Seconds one action's job may take (a shutdown waits for the guest).
ACTION_TIMEOUT = 120
#: Seconds the tiny guest may take to boot to its shell under emulation.
BOOT_TIMEOUT = 120
MIB = 1024
#: Seconds between the boot banner and acpid listening to the power button.
ACPI_SETTLE = 2


@contextmanager
def _system() -> Iterator[libvirt.virConnect]:
    conn = libvirt.open("qemu:///system")
    try:
        yield conn
    finally:
        conn.close()


def _domain_state(vm: VirtualMachine) -> int:
    with _system() as conn:
        return int(conn.lookupByUUIDString(str(vm.uuid)).state()[0])


def _build(client: Client, team, image, name: str, worker) -> VirtualMachine:
    """Ask through the page, approve through the service admins use, wait for the worker's build."""
    response = client.post(
        "/vms/new/",
        {
            "name": name,
            "team": team.pk,
            "image": image.pk,
            "vcpus": 1,
            "memory_mib": 96,
            "disk_gib": 1,
            "justification": "integration test",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    request = ResourceRequest.objects.get(team=team, name=name)
    admin = UserFactory(username=f"admin-{name}", is_staff=True, is_superuser=True)
    job = job_wait(request_approve(actor=admin, request_id=request.pk).pk, BUILD_TIMEOUT, "the build")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{worker.log()}"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    return VirtualMachine.objects.get(request=request)


def _ask(client: Client, vm: VirtualMachine, path: str, data: dict[str, object] | None = None) -> Job:
    """POST an action to its view as the member; return the one job it queued."""
    vm_type = ContentType.objects.get_for_model(VirtualMachine)
    before = set(Job.objects.filter(target_type=vm_type, target_id=str(vm.pk)).values_list("pk", flat=True))
    response = client.post(path, data or {})
    assert response.status_code in (200, 302), response.content.decode()[-2000:]
    said = [str(message) for message in get_messages(response.wsgi_request)]
    queued = Job.objects.filter(target_type=vm_type, target_id=str(vm.pk)).exclude(pk__in=before)
    assert queued.count() == 1, f"{path} queued no job: {said} {response.content.decode()[-1000:]}"
    return queued.get()


def _done(client: Client, vm: VirtualMachine, worker, path: str, data: dict[str, object] | None = None) -> Job:
    """Ask for an action and wait until its job succeeded."""
    job = job_wait(_ask(client, vm, path, data).pk, ACTION_TIMEOUT, f"the job of {path}")
    assert job.state == JobState.SUCCEEDED, f"{path}: {job.error}\n{job.log}\n{worker.log()}"
    return job


def _action(client: Client, vm: VirtualMachine, worker, slug: str) -> Job:
    return _done(client, vm, worker, f"/vms/{vm.uuid}/actions/{slug}/")


def _wait_banners(vm: VirtualMachine, count: int) -> None:
    """Wait until the guest has booted ``count`` times since its QEMU process started.

    The guest's init starts acpid (which forks, then opens the power button's
    input device) just before the banner: a moment more, so that an ACPI request
    sent next is not lost.
    """
    wait_until(
        lambda: banner_count(vm.domain_name) >= count,
        BOOT_TIMEOUT,
        f"boot banner number {count} on the console of {vm.domain_name}",
    )
    time.sleep(ACPI_SETTLE)


def test_every_action_on_a_real_domain(qemu_host, guest_image, live_team, live_member, celery_worker_process):
    worker = celery_worker_process
    client = Client()
    client.force_login(live_member)
    vm = _build(client, live_team, guest_image, "life", worker)
    assert vm.host == qemu_host
    _wait_banners(vm, 1)

    # Suspend and resume.
    _action(client, vm, worker, "suspend")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_PAUSED
    _action(client, vm, worker, "resume")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_RUNNING

    # Reboot through ACPI: the guest powers off on the power button, libvirt resets it,
    # the same QEMU process boots it again; the console shows both boots.
    _action(client, vm, worker, "reboot")
    _wait_banners(vm, 2)
    log = console_log(vm.domain_name).read_text(errors="replace")
    assert "portal-guest: powering off" in log, log[-2000:]
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_RUNNING

    # Reset: a hard reset, no ACPI; the guest boots once more.
    _action(client, vm, worker, "reset")
    _wait_banners(vm, 3)
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_RUNNING

    # Shutdown through ACPI: the job waits until the guest has powered itself off.
    _action(client, vm, worker, "shutdown")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_SHUTOFF
    vm.refresh_from_db()
    assert vm.state == VMState.SHUTOFF

    # Start: a new QEMU process, a new console log.
    _action(client, vm, worker, "start")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_RUNNING
    _wait_banners(vm, 1)

    # Resize within the domain's maximum memory while it runs: applied live, no next-boot note.
    # (What the guest then really has is checked in test_live_memory_resize_reaches_the_guest.)
    job = _done(client, vm, worker, f"/vms/{vm.uuid}/resize/", {"vcpus": 1, "memory_mib": 80})
    assert "applied live" in job.log[-1]["message"], job.log
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib, vm.next_boot_note) == (1, 80, "")
    with _system() as conn:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        config = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert _kib(config, "currentMemory") == 80 * MIB
        assert domain.maxMemory() == 96 * MIB

    # Beyond the maximum memory, and a second vCPU: both only at the next boot.
    job = _done(client, vm, worker, f"/vms/{vm.uuid}/resize/", {"vcpus": 2, "memory_mib": 128})
    vm.refresh_from_db()
    assert vm.next_boot_note == "New vCPUs and memory apply at the next boot."
    assert "apply at the next boot" in vm_page(client, vm)
    with _system() as conn:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        config = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert _kib(config, "memory") == 128 * MIB
        assert _kib(config, "currentMemory") == 128 * MIB
        assert config.findtext("vcpu") == "2"
        assert domain.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 1
        assert domain.maxMemory() == 96 * MIB, "the running guest keeps its memory ceiling"
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING

    # Force off, then start: the new sizes are live and the note is gone.
    _action(client, vm, worker, "power-off")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_SHUTOFF
    _action(client, vm, worker, "start")
    with _system() as conn:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        _state, max_kib, _memory_kib, vcpus, _cpu_time = domain.info()
        assert (max_kib, vcpus) == (128 * MIB, 2)
    vm.refresh_from_db()
    assert vm.next_boot_note == ""
    _wait_banners(vm, 1)

    # Snapshots: an internal, live snapshot (memory and disk in the qcow2 file).
    _done(client, vm, worker, f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "first"})
    with _system() as conn:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert [snapshot.getName() for snapshot in domain.listAllSnapshots(0)] == ["first"]
        snapshot = ET.fromstring(domain.snapshotLookupByName("first", 0).getXMLDesc(0))
        assert snapshot.findtext("state") == "running"
        assert snapshot.find("memory").get("snapshot") == "internal"
        assert snapshot.find("disks/disk").get("snapshot") == "internal"
    assert list(Snapshot.objects.filter(vm=vm).values_list("name", flat=True)) == ["first"]
    assert "first" in vm_page(client, vm)

    # Revert from shut off to the running snapshot: the guest runs again without booting.
    _action(client, vm, worker, "power-off")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_SHUTOFF
    _done(client, vm, worker, f"/vms/{vm.uuid}/snapshots/snapshot-revert/", {"name": "first"})
    with _system() as conn:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        assert domain.snapshotCurrent(0).getName() == "first"
    vm.refresh_from_db()
    assert vm.state == VMState.RUNNING

    _done(client, vm, worker, f"/vms/{vm.uuid}/snapshots/snapshot-delete/", {"name": "first"})
    with _system() as conn:
        assert conn.lookupByUUIDString(str(vm.uuid)).listAllSnapshots(0) == []
    assert not Snapshot.objects.filter(vm=vm).exists()

    # Force off a running VM.
    _action(client, vm, worker, "power-off")
    assert _domain_state(vm) == libvirt.VIR_DOMAIN_SHUTOFF
    vm.refresh_from_db()
    assert vm.state == VMState.SHUTOFF

    # Delete: domain, disk and row gone; the team's quota is free again.
    volume = vm.volume_name
    _action(client, vm, worker, "delete")
    with _system() as conn:
        with pytest.raises(libvirt.libvirtError) as missing:
            conn.lookupByUUIDString(str(vm.uuid))
        assert missing.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        assert vm.domain_name not in [domain.name() for domain in conn.listAllDomains(0)]
        pool = conn.storagePoolLookupByName(qemu_host.storage_pool)
        pool.refresh(0)
        assert volume not in pool.listVolumes()
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    live_team.refresh_from_db()
    usage = teams_usage([live_team])[live_team.pk]
    assert usage.used == Amounts()
    assert usage.committed == Amounts()


def test_live_memory_resize_reaches_the_guest(qemu_host, guest_image, live_team, live_member, celery_worker_process):
    client = Client()
    client.force_login(live_member)
    vm = _build(client, live_team, guest_image, "balloon", celery_worker_process)
    _wait_banners(vm, 1)
    job = _done(client, vm, celery_worker_process, f"/vms/{vm.uuid}/resize/", {"vcpus": 1, "memory_mib": 80})
    assert "applied live" in job.log[-1]["message"]

    def guest_memory_kib() -> int:
        with _system() as conn:
            return int(conn.lookupByUUIDString(str(vm.uuid)).info()[2])

    # The balloon moves within a second when the guest has a driver; give it ten.
    wait_until(lambda: guest_memory_kib() == 80 * MIB, 10, "the running guest to have 80 MiB (virsh dominfo)")


def vm_page(client: Client, vm: VirtualMachine) -> str:
    response = client.get(f"/vms/{vm.uuid}/")
    assert response.status_code == 200
    return response.content.decode()


def _kib(root: ET.Element, tag: str) -> int:
    """A memory element of domain XML in KiB."""
    element = root.find(tag)
    assert element is not None, tag
    factor = {"KiB": 1, "MiB": MIB, "GiB": MIB * MIB, "b": 1 / 1024, "bytes": 1 / 1024}[element.get("unit", "KiB")]
    return int(int(element.text or 0) * factor)
