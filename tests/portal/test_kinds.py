"""The kinds registry, with the kinds the apps really register: labels, validators, usage, resource pages, sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from containers.choices import ContainerKind, EngineJobAction
from hypervisors.choices import HostJobAction, HypervisorKind, VMJobAction
from portal.amounts import Amounts
from portal.choices import RequestState
from portal.kinds import (
    job_action_label,
    job_action_validate,
    kind_choices,
    kind_handler,
    kind_handlers,
    kind_label,
    kind_validate,
    request_resources_related,
    request_sizes_text,
    resource_of_request,
    resource_url,
)
from portal.leases.extensions import LEASE_EXTENSION_KIND
from portal.models import ResourceRequest
from portal.quota_requests.kind import QUOTA_CHANGE
from tests.factories import (
    ContainerFactory,
    ResourceRequestFactory,
    TeamFactory,
    VirtualMachineFactory,
)

KINDS = {
    HypervisorKind.VM: "Virtual machine",
    HypervisorKind.NETWORK: "VM network",
    ContainerKind.CONTAINER: "Container",
    ContainerKind.CONTAINER_NETWORK: "Container network",
    QUOTA_CHANGE: "Quota change",
    LEASE_EXTENSION_KIND: "Lease extension",
}


def test_every_kind_of_both_apps_and_the_base_is_registered_with_its_label():
    assert dict(kind_choices()) == KINDS
    assert {handler.kind for handler in kind_handlers()} == set(KINDS)
    for kind, label in KINDS.items():
        assert kind_label(kind) == label == kind_handler(kind).label


def test_an_unknown_kind_reads_as_stored_but_has_no_handler():
    assert kind_label("floppy") == "floppy"
    with pytest.raises(LookupError, match="'floppy'"):
        kind_handler("floppy")


@pytest.mark.parametrize("kind", list(KINDS))
def test_registered_kinds_are_valid(kind):
    kind_validate(kind)


def test_an_unregistered_kind_is_a_validation_error():
    with pytest.raises(ValidationError, match="not a kind of resource"):
        kind_validate("floppy")


@pytest.mark.parametrize(
    ("action", "label"),
    [
        (VMJobAction.VM_START, VMJobAction.VM_START.label),
        (HostJobAction.HOST_PROBE, "Probe host"),
        (EngineJobAction.IMAGE_LOAD, "Load image"),
    ],
    ids=["of-a-kind", "of-the-hosts", "of-the-engines"],
)
def test_job_actions_of_kinds_and_of_neither_are_registered(action, label):
    job_action_validate(action)
    assert job_action_label(action) == label


def test_an_unregistered_job_action_is_refused_and_reads_as_stored():
    with pytest.raises(ValidationError, match="not a job action"):
        job_action_validate("vm_teleport")
    assert job_action_label("vm_teleport") == "vm_teleport"


def test_every_kind_reaches_its_resource_from_the_request():
    """The names to select_related are real relations of a request, one per kind that leaves a resource."""
    related = request_resources_related()
    assert len(related) == len(KINDS) - 2, "a quota change and a lease extension leave no resource behind"
    for name in related:
        assert ResourceRequest._meta.get_field(name).one_to_one


@pytest.mark.django_db
def test_live_usage_counts_live_vms_but_not_those_counted_through_an_active_request():
    blue, red = TeamFactory(), TeamFactory()
    VirtualMachineFactory(team=blue, vcpus=2, memory_mib=256, disk_gib=3)  # adopted: no request
    fulfilled = ResourceRequestFactory(team=blue, state=RequestState.FULFILLED)
    VirtualMachineFactory(team=blue, request=fulfilled, vcpus=1, memory_mib=128, disk_gib=1)
    building = ResourceRequestFactory(team=blue, state=RequestState.PROVISIONING)
    VirtualMachineFactory(team=blue, request=building, vcpus=4, memory_mib=1024, disk_gib=9)
    VirtualMachineFactory(team=red, vcpus=1, memory_mib=64, disk_gib=1)

    usage = kind_handler(HypervisorKind.VM).live_usage([blue.pk])

    assert usage == {blue.pk: Amounts(vcpus=Decimal(3), memory_mib=384, disk_gib=4, vm_count=2)}


@pytest.mark.django_db
def test_live_usage_of_containers_counts_cpus_and_memory():
    team = TeamFactory()
    ContainerFactory(team=team, cpus=Decimal("0.5"), memory_mib=64)
    ContainerFactory(team=team, cpus=Decimal("0.25"), memory_mib=32)

    usage = kind_handler(ContainerKind.CONTAINER).live_usage([team.pk])

    assert usage[team.pk].container_count == 2
    assert (usage[team.pk].vcpus, usage[team.pk].memory_mib) == (Decimal("0.75"), 96)


@pytest.mark.django_db
def test_name_in_use_is_per_team_and_per_kind():
    vm = VirtualMachineFactory(name="web")
    handler = kind_handler(HypervisorKind.VM)
    assert handler.name_in_use(vm.team, "web")
    assert not handler.name_in_use(vm.team, "db")
    assert not handler.name_in_use(TeamFactory(), "web")
    assert not kind_handler(ContainerKind.CONTAINER).name_in_use(vm.team, "web")


@pytest.mark.django_db
def test_the_resource_and_page_of_a_request():
    request = ResourceRequestFactory(state=RequestState.FULFILLED)
    vm = VirtualMachineFactory(team=request.team, request=request)
    assert resource_of_request(request) == vm
    assert resource_url(request) == f"/vms/{vm.uuid}/"

    container = ContainerFactory()
    container_request = ResourceRequestFactory(kind=ContainerKind.CONTAINER, team=container.team)
    container.request = container_request
    container.save()
    assert resource_url(container_request) == f"/containers/{container.pk}/"


@pytest.mark.django_db
def test_a_request_without_a_resource_has_no_page():
    pending = ResourceRequestFactory()
    assert resource_of_request(pending) is None
    assert resource_url(pending) == ""
    unknown = ResourceRequestFactory(kind="floppy")
    assert (resource_of_request(unknown), resource_url(unknown)) == (None, "")


@pytest.mark.parametrize(
    ("kind", "vcpus", "memory_mib", "disk_gib", "text"),
    [
        (HypervisorKind.VM, Decimal("2"), 128, 1, "2 vCPU · 128 MiB · 1 GiB"),
        (ContainerKind.CONTAINER, Decimal("0.50"), 64, 0, "0.5 CPU · 64 MiB"),
        (HypervisorKind.NETWORK, Decimal("0"), 0, 0, ""),
        ("floppy", Decimal("1.25"), 0, 0, "1.25 CPU"),
    ],
)
def test_request_sizes_read_in_the_units_of_the_kind(kind, vcpus, memory_mib, disk_gib, text):
    request = ResourceRequest(kind=kind, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    assert request_sizes_text(request) == text
