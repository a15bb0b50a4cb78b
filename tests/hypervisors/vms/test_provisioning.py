"""Building an approved VM on libvirt's ``test:///default`` hypervisor, through the real services."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import libvirt
import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.drivers import DriverError
from hypervisors.drivers.domain_xml import METADATA_NS
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from hypervisors.models import Host, VirtualMachine
from hypervisors.vms import provisioning
from portal import provisioning as skeleton
from portal.choices import JobState, RequestState
from portal.models import AuditEvent, Job, ResourceRequest
from portal.services import request_approve, request_submit
from tests.support.libvirt_test import volumes
from tests.support.rows import messages, usage_of
from tests.support.vm_jobs import WorkerLost

pytestmark = pytest.mark.django_db


@pytest.fixture
def approve(team, member, staff, image, libvirt_test_host):
    """Submit and approve a VM request; return its queued job."""

    def make(name="web", vcpus=1, memory_mib=128, disk_gib=1, image_id=image.pk):
        request = request_submit(
            actor=member,
            team=team,
            kind=HypervisorKind.VM,
            name=name,
            vcpus=vcpus,
            memory_mib=memory_mib,
            disk_gib=disk_gib,
            justification="needed",
            spec={"image_id": image_id},
        )
        return request_approve(actor=staff, request_id=request.pk, reason="ok")

    return make


def domain_names(conn):
    return sorted(d.name() for d in conn.listAllDomains(0))


def assert_nothing_left(conn, vm_uuid):
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(vm_uuid)
    assert domain_names(conn) == ["test"], "only the test driver's own domain remains"
    assert volumes(conn) == []


def test_vm_provision_builds_and_starts_the_vm(approve, conn, team, member, libvirt_test_host):
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    assert vm.host == libvirt_test_host, "placed at approval, so the build goes to the host's queue"
    assert vm.state == "building"

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.progress == 100
    assert job.error == ""
    assert job.started_at is not None and job.finished_at is not None
    assert messages(job) == [
        "Queued",
        "Checking the team's quota",
        f"Placed on host {libvirt_test_host.name}",
        f"Joining team network blue.team_{libvirt_test_host.name} (10.250.0.0/24)",
        "Preparing storage pool default-pool",
        "Creating a 1 GiB qcow2 disk",
        "Defining domain blue.web (test)",
        "Starting the domain",
        "The VM is running",
    ]

    vm.refresh_from_db()
    assert vm.state == "running"
    assert vm.host == libvirt_test_host
    request = ResourceRequest.objects.get(pk=job.request_id)
    assert request.state == RequestState.FULFILLED
    assert request.finished_at is not None
    assert AuditEvent.objects.filter(action="request.fulfill", target_id=str(request.pk)).exists()

    domain = conn.lookupByUUIDString(str(vm.uuid))
    assert domain.name() == vm.domain_name == "blue.web"
    assert domain.isActive()
    assert domain.isPersistent()
    assert domain.info()[3] == 1
    assert domain.maxMemory() == 128 * 1024
    assert volumes(conn) == [f"{vm.uuid}.qcow2"]
    described = ET.fromstring(domain.XMLDesc())
    assert described.find("devices/disk/source").get("file") == f"/default-pool/{vm.uuid}.qcow2"
    assert described.find("devices/interface/source").get("network") == f"blue.team_{libvirt_test_host.name}"
    assert described.find("devices/interface/filterref").get("filter") == "clean-traffic"
    assert described.find("os/kernel").text == vm.image.kernel_path
    metadata = ET.fromstring(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
    assert (metadata.findtext("team"), metadata.findtext("name"), metadata.findtext("owner")) == (
        "blue",
        "web",
        member.username,
    )

    # the live VM now counts as used, no longer through its request
    usage = usage_of(team)
    assert usage.used.vm_count == 1
    assert usage.reserved.vm_count == 0


def test_vm_provision_again_for_a_finished_job_is_a_no_op(approve, conn):
    job = approve()
    provisioning.vm_provision(job_id=job.pk)
    job.refresh_from_db()
    log, finished_at = list(job.log), job.finished_at

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.log == log
    assert job.finished_at == finished_at
    assert domain_names(conn) == ["blue.web", "test"]
    assert len(volumes(conn)) == 1


@pytest.mark.parametrize("died_after", ["pool_ensure", "volume_ensure", "domain_define", "domain_start"])
def test_redelivered_job_finds_its_own_work(approve, conn, monkeypatch, died_after):
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    real = getattr(LibvirtDriver, died_after)

    def work_then_die(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise WorkerLost

    with monkeypatch.context() as patched:
        patched.setattr(LibvirtDriver, died_after, work_then_die)
        with pytest.raises(WorkerLost):
            provisioning.vm_provision(job_id=job.pk)

    # what the broker redelivers: a job still running, a request still provisioning
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.PROVISIONING

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert "Restarted after an interrupted run" in messages(job)
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FULFILLED
    vm.refresh_from_db()
    assert vm.state == "running"
    assert domain_names(conn) == ["blue.web", "test"], "no duplicate domain"
    assert conn.lookupByUUIDString(str(vm.uuid)).isActive()
    assert volumes(conn) == [f"{vm.uuid}.qcow2"], "no duplicate volume"


def test_redelivered_job_after_fulfill_keeps_the_live_vm(approve, conn, monkeypatch):
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)

    def die(*args, **kwargs):
        raise WorkerLost

    with monkeypatch.context() as patched:
        patched.setattr(skeleton, "job_succeed", die)
        with pytest.raises(WorkerLost):
            provisioning.vm_provision(job_id=job.pk)
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FULFILLED
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING

    provisioning.vm_provision(job_id=job.pk)  # the broker redelivers the task

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FULFILLED
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert conn.lookupByUUIDString(str(vm.uuid)).isActive()


@pytest.mark.parametrize("died_at", ["request_fail", "job_fail"])
def test_redelivered_job_after_failure_cleanup_finishes_failed(approve, conn, monkeypatch, died_at):
    job = approve()
    vm_uuid = str(VirtualMachine.objects.get(request_id=job.request_id).uuid)

    def boom(self, uuid):
        raise DriverError("boom")

    def die(*args, **kwargs):
        raise WorkerLost

    monkeypatch.setattr(LibvirtDriver, "domain_start", boom)
    with monkeypatch.context() as patched:
        patched.setattr(skeleton, died_at, die)
        with pytest.raises(WorkerLost):
            provisioning.vm_provision(job_id=job.pk)
    assert not VirtualMachine.objects.filter(request_id=job.request_id).exists()

    provisioning.vm_provision(job_id=job.pk)  # the broker redelivers the task

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FAILED
    assert_nothing_left(conn, vm_uuid)


def test_failure_at_start_cleans_up_and_releases_quota(approve, conn, monkeypatch, team, member):
    job = approve(vcpus=8)  # the team's whole vCPU quota
    vm = VirtualMachine.objects.get(request_id=job.request_id)

    def boom(self, uuid):
        raise DriverError("boom")

    monkeypatch.setattr(LibvirtDriver, "domain_start", boom)
    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "boom"
    assert job.finished_at is not None
    assert "Removing what was built" in messages(job)
    assert messages(job)[-1] == "Failed: boom"
    request = ResourceRequest.objects.get(pk=job.request_id)
    assert request.state == RequestState.FAILED
    assert request.failure_reason == "boom"
    assert AuditEvent.objects.filter(action="request.fail", target_id=str(request.pk), detail="boom").exists()
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert_nothing_left(conn, str(vm.uuid))

    # the quota is free again: the same ask fits
    again = request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name="web",
        vcpus=8,
        memory_mib=128,
        disk_gib=1,
        justification="retry",
        spec={},
    )
    assert again.state == RequestState.PENDING


def test_failure_keeps_a_domain_that_is_not_ours(approve, conn, libvirt_test_host):
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    # someone defined a domain with our name by hand on the host
    foreign = conn.defineXML(
        "<domain type='test'><name>blue.web</name><memory>65536</memory><os><type>hvm</type></os></domain>"
    )
    foreign_uuid = foreign.UUIDString()

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "already exists" in job.error
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FAILED
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert conn.lookupByUUIDString(foreign_uuid).name() == "blue.web", "cleanup removes only our own domain"
    assert volumes(conn) == [], "our disk is removed"


def test_no_reachable_host_fails_with_a_readable_error(approve, conn, libvirt_test_host):
    Host.objects.update(is_reachable=False)
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    assert vm.host is None, "no host had room at approval; the worker tries again"

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "No reachable host has room for 1 vCPUs and 128 MiB; ask an administrator."
    request = ResourceRequest.objects.get(pk=job.request_id)
    assert request.state == RequestState.FAILED
    assert request.failure_reason == job.error
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert "Removing what was built" not in messages(job), "nothing was placed, so nothing to remove"
    assert_nothing_left(conn, str(vm.uuid))


def test_host_that_stopped_answering_fails_cleanly(approve, conn, libvirt_test_host):
    job = approve()
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    # the rows still say reachable; the host itself no longer answers
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri="qemu+tcp://127.0.0.1:1/system")

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "127.0.0.1" in job.error
    assert "Traceback" not in job.error
    assert any(m.startswith(f"Could not remove domain blue.web from {libvirt_test_host.name}") for m in messages(job))
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FAILED
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert_nothing_left(conn, str(vm.uuid))


def test_quota_lowered_after_approval_fails_cleanly(approve, conn, team):
    job = approve(vcpus=4)
    vm = VirtualMachine.objects.get(request_id=job.request_id)
    team.quota.vcpus = Decimal("2")
    team.quota.save()

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error.startswith("vCPUs: over quota by 2")
    request = ResourceRequest.objects.get(pk=job.request_id)
    assert request.state == RequestState.FAILED
    assert request.failure_reason == job.error
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert_nothing_left(conn, str(vm.uuid))
    assert usage_of(team).committed.vcpus == 0
    # The start shares the refused check's commit; the failure writes it.
    assert job.started_at is not None and "Checking the team's quota" in messages(job)


def test_vm_without_image_fails_before_touching_a_host(approve, conn):
    job = approve(image_id=None)
    vm = VirtualMachine.objects.get(request_id=job.request_id)

    provisioning.vm_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "The image chosen for this VM no longer exists."
    assert ResourceRequest.objects.get(pk=job.request_id).state == RequestState.FAILED
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert_nothing_left(conn, str(vm.uuid))
