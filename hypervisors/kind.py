"""Virtual machines as a kind of resource in the portal's one request pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal

from django.db import models
from django.db.models import Count, Q, Sum

from hypervisors.models import VirtualMachine, VirtualNetwork
from hypervisors.network_services import vm_interfaces_create
from hypervisors.placement import NoHostAvailable, host_for
from hypervisors.queues import host_queue
from portal.choices import JobAction, RequestState, ResourceKind
from portal.kinds import KindHandler
from portal.models import ResourceRequest, Team
from portal.quotas import Amounts


def vm_live_usage(team_ids: Sequence[int]) -> dict[int, Amounts]:
    """Usage of VMs not counted through an active request: one grouped query.

    A VM whose request is still approved or provisioning is counted through
    that request, so it is left out here to avoid counting it twice.
    """
    rows = (
        VirtualMachine.objects.filter(team_id__in=team_ids)
        .filter(Q(request__isnull=True) | Q(request__state=RequestState.FULFILLED))
        .values("team_id")
        .annotate(vcpus=Sum("vcpus"), memory=Sum("memory_mib"), disk=Sum("disk_gib"), count=Count("id"))
    )
    return {
        row["team_id"]: Amounts(
            vcpus=Decimal(row["vcpus"] or 0),
            memory_mib=row["memory"] or 0,
            disk_gib=row["disk"] or 0,
            vm_count=row["count"],
        )
        for row in rows
    }


def vm_name_in_use(team: Team, name: str) -> bool:
    """Whether the team already has a VM with this name."""
    return VirtualMachine.objects.filter(team=team, name=name).exists()


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
    with contextlib.suppress(NoHostAvailable):
        vm.host = host_for(vm, only=networks[0].host if networks else None)
    if networks and vm.host is None:
        raise NoHostAvailable(f"Host {networks[0].host} of the chosen networks has no room for this VM now.")
    vm.save()
    vm_interfaces_create(vm, networks)
    return vm


def vm_queue(vm: models.Model) -> str | None:
    """The queue of the host a VM was placed on."""
    assert isinstance(vm, VirtualMachine)
    return host_queue(vm.host)


VM_KIND = KindHandler(
    kind=ResourceKind.VM,
    count_field="vm_count",
    live_usage=vm_live_usage,
    name_in_use=vm_name_in_use,
    resource_create=vm_create_from_request,
    provision_action=JobAction.VM_PROVISION,
    provision_task="hypervisors.tasks.vm_provision",
    provision_queue=vm_queue,
)
