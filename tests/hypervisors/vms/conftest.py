"""Fixtures of the VM tests: VMs of each team, makers of VM rows and of VMs built for real, the form data of an ask."""

from __future__ import annotations

import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from hypervisors.vms import provisioning
from portal.choices import JobState
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, ImageFactory, VirtualMachineFactory
from tests.support.rows import vm_with_job


@pytest.fixture
def data(team, image):
    """What a member types into the VM request form."""
    return {
        "name": "web",
        "team": str(team.pk),
        "image": str(image.pk),
        "vcpus": "1",
        "memory_mib": "128",
        "disk_gib": "1",
        "justification": "A web server",
    }


@pytest.fixture
def blue_vm(team, member):
    vm, _ = vm_with_job(team, member, name="blue-vm", host=HostFactory(), image=ImageFactory())
    return vm


@pytest.fixture
def red_vm(red, outsider):
    vm, _ = vm_with_job(red, outsider, name="red-secret-vm", state="building", job_state=JobState.RUNNING)
    return vm


@pytest.fixture
def make_vm(team, member):
    """Make VMs of the member's team on one host (kvm1) from one image: ``make_vm(state=..., **fields)``."""
    host = HostFactory(name="kvm1")
    image = ImageFactory()

    def make(state="running", **values):
        return VirtualMachineFactory(team=team, owner=member, host=host, image=image, state=state, **values)

    return make


@pytest.fixture
def build(team, member, staff, image, libvirt_test_host):
    """A VM built by the real pipeline: submit, approve, provision. It runs when returned."""

    def make(name="web", vcpus=1, memory_mib=128, disk_gib=1) -> VirtualMachine:
        request = request_submit(
            actor=member,
            team=team,
            kind=HypervisorKind.VM,
            name=name,
            vcpus=vcpus,
            memory_mib=memory_mib,
            disk_gib=disk_gib,
            justification="needed",
            spec={"image_id": image.pk},
        )
        job = request_approve(actor=staff, request_id=request.pk, reason="ok")
        provisioning.vm_provision(job_id=job.pk)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED, job.error
        return VirtualMachine.objects.get(request_id=request.pk)

    return make
