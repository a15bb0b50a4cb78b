"""Virtual machines as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

from django.urls import reverse

from hypervisors.choices import HypervisorKind, VMJobAction
from hypervisors.hosts.placement import NoHostAvailable, host_for
from hypervisors.models import Image, VirtualMachine, VirtualNetwork
from hypervisors.vms.leases import vm_lease_delete, vm_lease_stop
from hypervisors.vms.services import snapshots_usage, vm_interfaces_create
from portal.kinds import KindHandler
from portal.models import ResourceRequest


def vm_create_from_request(request: ResourceRequest) -> VirtualMachine:
    """The VM row an approved request will build; its page shows the build's progress at once.

    It is placed now when a host has room, so that the build goes to that host's
    queue; otherwise the worker places it when it runs.
    """
    vm = VirtualMachine(
        team=request.team,
        owner=request.requested_by,
        request=request,
        image_id=request.spec.get("image_id"),
        name=request.name,
        vcpus=int(request.vcpus),
        memory_mib=request.memory_mib,
        disk_gib=request.disk_gib,
    )
    networks = list(VirtualNetwork.objects.filter(pk__in=request.spec.get("network_ids", [])).select_related("host"))
    try:
        vm.host = host_for(vm, only=networks[0].host if networks else None)
    except NoHostAvailable as error:
        if networks:
            storage = "".join(f" Its {refusal}." for refusal in error.storage_refusals)
            raise NoHostAvailable(
                f"Host {networks[0].host} of the chosen networks has no room for this VM now.{storage}"
            ) from error
    vm.save()
    vm_interfaces_create(vm, networks)
    return vm


VM_KIND = KindHandler(
    kind=HypervisorKind.VM,
    label=HypervisorKind.VM.label,
    model=VirtualMachine,
    count_field="vm_count",
    sizes={"vcpus": "vcpus", "memory_mib": "memory_mib", "disk_gib": "disk_gib"},
    resource_create=vm_create_from_request,
    provision_action=VMJobAction.VM_PROVISION,
    provision_task="hypervisors.tasks.vm_provision",
    resource_url=lambda vm: reverse("vm-detail", args=[vm.uuid]),  # type: ignore[attr-defined]
    job_actions=dict(VMJobAction.choices),
    status_template="hypervisors/_vm_status.html",
    cpu_unit="vCPU",
    extra_usage=snapshots_usage,
    image_model=Image,
    network_model=VirtualNetwork,
    lease_stop=vm_lease_stop,
    lease_delete=vm_lease_delete,
)
