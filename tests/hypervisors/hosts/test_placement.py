"""Placement: which host a new VM goes to."""

import pytest

from hypervisors.hosts.placement import NoHostAvailable, host_for
from hypervisors.models import VirtualMachine
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


def new_vm(team, vcpus=1, memory_mib=128):
    """An unplaced VM, as the provisioning job has it when it asks for a host."""
    return VirtualMachineFactory(team=team, host=None, vcpus=vcpus, memory_mib=memory_mib)


@pytest.fixture(autouse=True)
def ratios(settings):
    settings.PORTAL_CPU_OVERCOMMIT = 1.0
    settings.PORTAL_MEMORY_OVERCOMMIT = 1.0
    return settings


def test_picks_the_host_with_most_free_memory(team):
    small = HostFactory(name="small", uri="test:///small", cpus=8, memory_mib=2048)
    big = HostFactory(name="big", uri="test:///big", cpus=8, memory_mib=4096)
    assert host_for(new_vm(team)) == big
    # VMs already on the big host leave it less free memory than the small one
    VirtualMachineFactory(team=team, host=big, vcpus=1, memory_mib=3000)
    assert host_for(new_vm(team, memory_mib=64)) == small


def test_skips_hosts_in_maintenance_unreachable_or_never_probed(team):
    HostFactory(name="maintenance", uri="test:///m", memory_mib=100_000, accepts_new_vms=False)
    HostFactory(name="down", uri="test:///d", memory_mib=100_000, is_reachable=False)
    HostFactory(name="unprobed", uri="test:///u", memory_mib=100_000, domain_type="")
    usable = HostFactory(name="usable", uri="test:///ok", memory_mib=1024)
    assert host_for(new_vm(team)) == usable


def test_skips_a_host_without_room(team):
    full = HostFactory(name="full", uri="test:///full", cpus=2, memory_mib=8192)
    roomy = HostFactory(name="roomy", uri="test:///roomy", cpus=8, memory_mib=1024)
    VirtualMachineFactory(team=team, host=full, vcpus=2, memory_mib=128)
    # full has more free memory but no CPU left
    assert host_for(new_vm(team, vcpus=1)) == roomy


def test_fits_exactly(team):
    host = HostFactory(cpus=2, memory_mib=512)
    VirtualMachineFactory(team=team, host=host, vcpus=1, memory_mib=256)
    assert host_for(new_vm(team, vcpus=1, memory_mib=256)) == host


def test_no_host_available_when_none_fits(team):
    host = HostFactory(cpus=2, memory_mib=512)
    with pytest.raises(NoHostAvailable, match=r"No reachable host has room for 1 vCPUs and 1024 MiB"):
        host_for(new_vm(team, memory_mib=1024))
    with pytest.raises(NoHostAvailable, match="3 vCPUs"):
        host_for(new_vm(team, vcpus=3))
    VirtualMachineFactory(team=team, host=host, vcpus=1, memory_mib=500)
    with pytest.raises(NoHostAvailable):
        host_for(new_vm(team, memory_mib=64))


def test_no_host_at_all(team):
    with pytest.raises(NoHostAvailable):
        host_for(new_vm(team))


def test_host_without_known_size_takes_nothing(team):
    HostFactory(cpus=None, memory_mib=None)
    with pytest.raises(NoHostAvailable):
        host_for(new_vm(team))


def test_over_commit_ratios_from_settings(team, ratios):
    host = HostFactory(cpus=2, memory_mib=1024)
    vm = new_vm(team, vcpus=4, memory_mib=2048)
    with pytest.raises(NoHostAvailable):
        host_for(vm)

    ratios.PORTAL_CPU_OVERCOMMIT = 2.0
    with pytest.raises(NoHostAvailable):
        host_for(vm)  # CPUs fit now, memory does not

    ratios.PORTAL_MEMORY_OVERCOMMIT = 2.0
    assert host_for(vm) == host

    ratios.PORTAL_CPU_OVERCOMMIT = 1.5
    with pytest.raises(NoHostAvailable):
        host_for(vm)


def test_over_commit_counts_what_is_placed(team, ratios):
    ratios.PORTAL_CPU_OVERCOMMIT = 4.0
    host = HostFactory(cpus=2, memory_mib=4096)
    for i in range(7):
        VirtualMachineFactory(team=team, host=host, name=f"placed{i}", vcpus=1, memory_mib=64)
    assert host_for(new_vm(team, vcpus=1)) == host  # 8th of 8 vCPUs
    VirtualMachineFactory(team=team, host=host, name="placed7", vcpus=1, memory_mib=64)
    with pytest.raises(NoHostAvailable):
        host_for(new_vm(team, vcpus=1))
    assert VirtualMachine.objects.filter(host=host).count() == 8
