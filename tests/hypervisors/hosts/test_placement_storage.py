"""Placement and storage: a host whose VM pool would pass PORTAL_POOL_FILL_LIMIT with the new disk is refused."""

import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind
from hypervisors.hosts.placement import NoHostAvailable, host_for
from hypervisors.models import StoragePool, VirtualMachine
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, VirtualMachineFactory
from tests.support.vm_networks import make_network

pytestmark = pytest.mark.django_db

GIB = 1024**3


def new_vm(team, disk_gib=10):
    return VirtualMachineFactory(team=team, host=None, vcpus=1, memory_mib=128, disk_gib=disk_gib)


def pool(host, allocated_gib, capacity_gib=100, name=None):
    return StoragePool.objects.create(
        host=host,
        name=name or host.storage_pool,
        capacity=capacity_gib * GIB,
        allocation=allocated_gib * GIB,
        available=(capacity_gib - allocated_gib) * GIB,
        active=True,
    )


def test_a_host_whose_pool_would_pass_the_limit_is_refused_for_another(team):
    roomy = HostFactory(name="roomy", uri="test:///roomy", memory_mib=1024)
    full = HostFactory(name="full", uri="test:///full", memory_mib=8192)  # more memory: preferred otherwise
    pool(full, allocated_gib=85)
    pool(roomy, allocated_gib=10)
    assert host_for(new_vm(team, disk_gib=5)) == full, "85 + 5 of 100 is at the 90% limit: allowed"
    assert host_for(new_vm(team, disk_gib=6)) == roomy


def test_the_refusal_says_which_pool_and_why(team):
    host = HostFactory(name="kvm1", memory_mib=8192)
    pool(host, allocated_gib=85)
    with pytest.raises(NoHostAvailable) as refused:
        host_for(new_vm(team, disk_gib=10))
    message = refused.value.message
    assert "pool default-pool on host kvm1 would be 95% full with a 10 GiB disk (limit 90%)" in message
    assert "10 GiB disk" in message


def test_the_limit_follows_the_setting(team, settings):
    host = HostFactory(memory_mib=8192)
    pool(host, allocated_gib=85)
    settings.PORTAL_POOL_FILL_LIMIT = 0.99
    assert host_for(new_vm(team, disk_gib=10)) == host


def test_other_pools_and_unread_pools_refuse_nothing(team):
    host = HostFactory(memory_mib=8192)
    pool(host, allocated_gib=99, name="isos")
    assert host_for(new_vm(team, disk_gib=10)) == host, "not the pool the host puts VM disks in"
    other = HostFactory(name="fresh", uri="test:///fresh", memory_mib=16384)
    assert host_for(new_vm(team, disk_gib=10)) == other, "a pool the reconcile has not read yet is not guessed at"


def test_a_vm_bound_to_its_networks_host_is_told_of_the_full_pool(member, staff, team, image, libvirt_test_host):
    network = make_network(libvirt_test_host, team, name="own", subnet="10.213.1.0/24")
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=10,
        justification="tests", spec={"image_id": image.pk, "network_ids": [network.pk]},
    )  # fmt: skip
    pool(libvirt_test_host, allocated_gib=95)
    with pytest.raises(
        ValidationError, match=r"has no room for this VM now\. Its pool default-pool on host .+ 105% full"
    ):
        request_approve(actor=staff, request_id=request.pk)
    assert not VirtualMachine.objects.exists()
