"""Running VM jobs in the test process as the worker would, and reading back what the domain became."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from hypervisors.models import VirtualMachine
from hypervisors.vms import operations
from hypervisors.vms.services import vm_action_request
from portal.models import Job

#: A libvirt URI nothing answers on.
UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"
MIB = 1024


class WorkerLost(BaseException):
    """The worker process died mid-task: nothing in the task can catch it, the broker redelivers."""


def run(job: Job, vm: VirtualMachine | None = None, **kwargs) -> Job:
    """What the worker does with a job; the job (and VM) as they are afterwards."""
    operations.vm_operate(job_id=job.pk, **kwargs)
    job.refresh_from_db()
    if vm is not None and VirtualMachine.objects.filter(pk=vm.pk).exists():
        vm.refresh_from_db()
    return job


def act(member, vm, slug) -> Job:
    """Ask for an action as a page would, then run its job as the worker would."""
    return run(vm_action_request(actor=member, vm_id=vm.pk, slug=slug), vm)


def domain(conn: libvirt.virConnect, vm: VirtualMachine) -> libvirt.virDomain:
    return conn.lookupByUUIDString(str(vm.uuid))


def config_memory_mib(dom: libvirt.virDomain) -> int:
    """The memory the domain gets at its next boot."""
    document = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return int(document.findtext("currentMemory")) // MIB  # libvirt writes KiB
