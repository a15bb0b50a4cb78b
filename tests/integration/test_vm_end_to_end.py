"""The whole path on the real stack: ask, approve in Django admin, a Celery worker builds the VM on QEMU.

Checked through libvirt, not through the portal's own rows.
"""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest
from django.test import Client

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from portal.services import request_submit
from tests.factories import UserFactory
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

#: Seconds a build may take under software emulation on a busy machine.
BUILD_TIMEOUT = 180
#: Seconds the tiny guest may take to boot to its shell under emulation.
BOOT_TIMEOUT = 120
#: What the tiny guest's init prints once booted (scripts/build-guest-image.sh).
GUEST_BANNER = "portal-guest: booted"


def test_vm_asked_approved_in_admin_runs_on_qemu(qemu_host, guest_image, live_team, live_member, celery_worker_process):
    member_client = Client()
    member_client.force_login(live_member)
    response = member_client.post(
        "/vms/new/",
        {
            "name": "web",
            "team": live_team.pk,
            "image": guest_image.pk,
            "vcpus": 1,
            "memory_mib": 96,
            "disk_gib": 1,
            "justification": "integration test",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    request = ResourceRequest.objects.get(team=live_team, name="web")

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(admin)
    response = admin_client.post(
        "/admin/portal/resourcerequest/",
        {"action": "approve_selected", "_selected_action": [request.pk]},
    )
    assert response.status_code == 302

    job = Job.objects.get(request=request)
    wait_until(
        lambda: Job.objects.get(pk=job.pk).state in (JobState.SUCCEEDED, JobState.FAILED),
        BUILD_TIMEOUT,
        "the provisioning job",
    )
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    vm = VirtualMachine.objects.get(request=request)

    conn = libvirt.open("qemu:///system")
    try:
        domain = conn.lookupByUUIDString(str(vm.uuid))
        assert domain.name() == f"{live_team.slug}.web"
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        assert f"type='{qemu_host.domain_type}'" in domain.XMLDesc(0)
        pool = conn.storagePoolLookupByName(qemu_host.storage_pool)
        pool.refresh(0)
        assert vm.volume_name in pool.listVolumes()
    finally:
        conn.close()

    page = member_client.get(f"/vms/{vm.uuid}/")
    assert "Running" in page.content.decode()

    # The guest really boots: its init prints a banner on the serial console.
    console = Path(f"/var/log/libvirt/qemu/{live_team.slug}.web.console.log")
    wait_until(
        lambda: console.exists() and GUEST_BANNER in console.read_text(errors="replace"),
        BOOT_TIMEOUT,
        "the guest's boot banner on its serial console",
    )


def test_failed_build_leaves_nothing_behind(qemu_host, live_team, live_member, celery_worker_process):
    """An image whose kernel does not exist: the domain cannot start; disk and domain are removed, quota freed."""
    from tests.factories import ImageFactory

    volumes_before = _pool_volumes(qemu_host.storage_pool)
    broken = ImageFactory(name="broken", kernel_path="/nonexistent/vmlinuz", initrd_path="")
    request = request_submit(
        actor=live_member,
        team=live_team,
        kind=HypervisorKind.VM,
        name="broken",
        vcpus=4,
        memory_mib=64,
        disk_gib=1,
        justification="test",
        spec={"image_id": broken.pk},
    )
    from portal.services import request_approve

    job = request_approve(actor=UserFactory(username="root2", is_staff=True, is_superuser=True), request_id=request.pk)
    wait_until(lambda: Job.objects.get(pk=job.pk).state == JobState.FAILED, BUILD_TIMEOUT, "the job to fail")
    job.refresh_from_db()
    assert job.error
    request.refresh_from_db()
    assert request.state == RequestState.FAILED
    assert not VirtualMachine.objects.filter(request=request).exists()
    conn = libvirt.open("qemu:///system")
    try:
        names = [domain.name() for domain in conn.listAllDomains(0)]
        assert f"{live_team.slug}.broken" not in names
    finally:
        conn.close()
    assert _pool_volumes(qemu_host.storage_pool) == volumes_before
    # all 4 vCPUs of the quota are free again
    request_submit(
        actor=live_member,
        team=live_team,
        kind=HypervisorKind.VM,
        name="again",
        vcpus=4,
        memory_mib=64,
        disk_gib=1,
        justification="test",
        spec={"image_id": broken.pk},
    )


def _pool_volumes(pool_name: str) -> set[str]:
    """Volumes in a pool of the real host (none if the pool does not exist yet)."""
    conn = libvirt.open("qemu:///system")
    try:
        pool = conn.storagePoolLookupByName(pool_name)
        pool.refresh(0)
        return set(pool.listVolumes())
    except libvirt.libvirtError:
        return set()
    finally:
        conn.close()
