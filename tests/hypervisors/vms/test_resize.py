"""Resizing a VM: a shrink counts only once the guest gave the resources back, growth must fit the quota
and the host, the form keeps the ask form's limits, and a live shrink leaves room to grow back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import libvirt
import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind
from hypervisors.drivers import ResizeResult, libvirt_driver
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.hosts.placement import HostFull
from hypervisors.models import VirtualMachine
from hypervisors.vms import operations, provisioning
from hypervisors.vms.forms import VMResizeForm
from hypervisors.vms.services import vm_action_request, vm_resize_request
from portal.choices import JobState
from portal.models import Job, Team
from portal.quotas import teams_usage
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, ImageFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db
MIB = 1024


@pytest.fixture
def conn(libvirt_test_host) -> Iterator[libvirt.virConnect]:
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


@pytest.fixture
def build(team, member, staff, image, libvirt_test_host):
    """A running VM built by the real pipeline on the test hypervisor."""

    def make(vcpus: int = 2, memory_mib: int = 256) -> VirtualMachine:
        request = request_submit(
            actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=vcpus, memory_mib=memory_mib,
            disk_gib=1, justification="needed", spec={"image_id": image.pk},
        )  # fmt: skip
        job = request_approve(actor=staff, request_id=request.pk, reason="ok")
        provisioning.vm_provision(job_id=job.pk)
        return VirtualMachine.objects.get(request_id=request.pk)

    return make


def run(job: Job, vm: VirtualMachine) -> Job:
    operations.vm_operate(job_id=job.pk)
    job.refresh_from_db()
    vm.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    return job


def used(team: Team):
    team = Team.objects.select_related("quota").get(pk=team.pk)
    return teams_usage([team])[team.pk].used


def config_vcpus_only(self, uuid: str, vcpus: int) -> ResizeResult:
    """A guest that cannot unplug vCPUs: the change lands in its configuration only."""
    domain = self._domain(uuid)
    domain.setVcpusFlags(vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    return ResizeResult(live=False)


def test_a_shrink_for_the_next_boot_counts_until_the_host_shows_it(build, member, team, monkeypatch):
    vm = build(vcpus=2)
    monkeypatch.setattr(libvirt_driver.LibvirtDriver, "domain_set_vcpus", config_vcpus_only)
    job = vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=256)
    vm.refresh_from_db()
    assert (vm.vcpus, used(team).vcpus) == (2, 2), "asking frees nothing"

    run(job, vm)
    assert (vm.vcpus, vm.pending_vcpus) == (2, 1)
    assert used(team).vcpus == 2, "the running guest still has 2 vCPUs"
    host_reconcile(host_id=vm.host_id)
    vm.refresh_from_db()
    assert (vm.vcpus, vm.pending_vcpus) == (2, 1), "the reconcile still sees 2"

    run(vm_action_request(actor=member, vm_id=vm.pk, slug="power-off"), vm)
    run(vm_action_request(actor=member, vm_id=vm.pk, slug="start"), vm)
    host_reconcile(host_id=vm.host_id)
    vm.refresh_from_db()
    assert (vm.vcpus, vm.pending_vcpus) == (1, None)
    assert used(team).vcpus == 1


def test_a_memory_shrink_the_balloon_has_not_reached_counts_until_the_reconcile(build, member, team, monkeypatch):
    vm = build(memory_mib=256)
    monkeypatch.setattr(libvirt_driver, "balloon_reaches", lambda domain, kib: False)
    run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=128), vm)
    assert (vm.memory_mib, vm.pending_memory_mib) == (256, 128)
    assert used(team).memory_mib == 256
    host_reconcile(host_id=vm.host_id)  # the test hypervisor's balloon shows 128 MiB now
    vm.refresh_from_db()
    assert (vm.memory_mib, vm.pending_memory_mib) == (128, None)
    assert used(team).memory_mib == 128


def test_growth_still_counts_at_once(build, member, team):
    vm = build(vcpus=1, memory_mib=128)
    vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256)
    assert (used(team).vcpus, used(team).memory_mib) == (2, 256)


def test_a_live_shrink_keeps_the_ceiling_so_the_vm_grows_back(build, member, conn, monkeypatch):
    vm = build(memory_mib=256)
    monkeypatch.setattr(libvirt_driver, "balloon_reaches", lambda domain, kib: False)
    run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=128), vm)
    domain = conn.lookupByUUIDString(str(vm.uuid))
    inactive = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert int(inactive.findtext("memory") or 0) == 256 * MIB, "the ceiling of the next boot is kept"

    run(vm_resize_request(actor=member, vm_id=vm.pk, vcpus=2, memory_mib=256), vm)
    assert domain.info()[2] == 256 * MIB
    assert (vm.memory_mib, vm.pending_memory_mib) == (256, None)


@pytest.fixture
def small_host_vm(team, member):
    host = HostFactory(cpus=1, memory_mib=1024)  # room: 4 vCPUs (over-commit 4), 1024 MiB
    VirtualMachineFactory(team=team, host=host, vcpus=1, memory_mib=512, name="neighbour")
    return VirtualMachineFactory(team=team, owner=member, host=host, vcpus=1, memory_mib=256)


def test_growth_beyond_the_hosts_room_is_refused_naming_it(small_host_vm, member, sent):
    with pytest.raises(HostFull, match=r"has room for only 2 more vCPUs and 256 MiB") as refused:
        vm_resize_request(actor=member, vm_id=small_host_vm.pk, vcpus=1, memory_mib=768)
    assert small_host_vm.host.name in str(refused.value)
    small_host_vm.refresh_from_db()
    assert small_host_vm.memory_mib == 256
    assert vm_resize_request(actor=member, vm_id=small_host_vm.pk, vcpus=3, memory_mib=512).pk


def test_the_images_minimum_memory_holds_for_resizes(team, member, sent):
    image = ImageFactory(min_memory_mib=64)
    vm = VirtualMachineFactory(team=team, owner=member, host=HostFactory(), image=image, memory_mib=96)
    form = VMResizeForm({"vcpus": 1, "memory_mib": 48}, vm=vm)
    assert not form.is_valid()
    assert f"{image.name} needs at least 64 MiB." in form.errors["memory_mib"][0]
    with pytest.raises(ValidationError, match="needs at least 64 MiB"):
        vm_resize_request(actor=member, vm_id=vm.pk, vcpus=1, memory_mib=48)
    assert VMResizeForm({"vcpus": 1, "memory_mib": 64}, vm=vm).is_valid()
