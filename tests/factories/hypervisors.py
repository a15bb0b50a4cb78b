"""factory_boy factories for the hypervisors app: hosts, images, VMs, networks and their samples."""

from __future__ import annotations

import factory
from django.utils import timezone

from hypervisors.choices import DomainType, NetworkKind, NetworkState, VMState
from hypervisors.models import (
    AddressPool,
    Host,
    HostStatSample,
    Image,
    Snapshot,
    UnmanagedDomain,
    VirtualMachine,
    VirtualNetwork,
    VMInterface,
    VMStatSample,
)
from tests.factories.portal import TeamFactory, UserFactory


class HostFactory(factory.django.DjangoModelFactory):
    """A host on libvirt's in-process test driver; see the ``libvirt_test_host`` fixture."""

    class Meta:
        model = Host

    name = factory.Sequence(lambda n: f"host{n}")
    uri = "test:///default"
    is_reachable = True
    domain_type = DomainType.TEST
    cpus = 16
    memory_mib = 3072
    storage_pool = "default-pool"
    storage_path = "/default-pool"
    network = "default"


class HostStatSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostStatSample

    host = factory.SubFactory(HostFactory)
    taken_at = factory.LazyFunction(timezone.now)
    cpu_busy_ns = 0
    cpu_total_ns = 0
    memory_total_kib = 3072 * 1024
    memory_free_kib = 1024 * 1024
    running_domains = 0


class UnmanagedDomainFactory(factory.django.DjangoModelFactory):
    """A domain the reconcile found on a host that no VM row owns."""

    class Meta:
        model = UnmanagedDomain

    host = factory.SubFactory(HostFactory)
    uuid = factory.Faker("uuid4", cast_to=None)
    name = factory.Sequence(lambda n: f"stray{n}")
    state = VMState.RUNNING
    vcpus = 1
    memory_mib = 128
    disk_gib = 1
    last_seen_at = factory.LazyFunction(timezone.now)


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    name = factory.Sequence(lambda n: f"image{n}")
    os_name = "busybox"
    kernel_path = "/var/lib/libvirt/images/portal-guest/vmlinuz"
    initrd_path = "/var/lib/libvirt/images/portal-guest/initramfs.cpio.gz"
    kernel_cmdline = "console=ttyS0"
    min_memory_mib = 64
    min_disk_gib = 1


class VirtualMachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VirtualMachine

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"vm{n}")
    vcpus = 1
    memory_mib = 128
    disk_gib = 1
    state = "running"


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Snapshot

    vm = factory.SubFactory(VirtualMachineFactory)
    name = factory.Sequence(lambda n: f"snap{n}")
    created_by = factory.SubFactory(UserFactory)


class VMStatSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VMStatSample

    vm = factory.SubFactory(VirtualMachineFactory)
    taken_at = factory.LazyFunction(timezone.now)
    cpu_time_ns = 0
    memory_used_kib = 64 * 1024


class AddressPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddressPool

    name = factory.Sequence(lambda n: f"pool{n}")
    cidr = "10.200.0.0/16"
    subnet_prefix = 24


class VirtualNetworkFactory(factory.django.DjangoModelFactory):
    """A team's NAT network on a host, already built; pass ``team=None`` for a shared one."""

    class Meta:
        model = VirtualNetwork

    host = factory.SubFactory(HostFactory)
    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"net{n}")
    kind = NetworkKind.NAT
    subnet = factory.Sequence(lambda n: f"10.213.{n % 256}.0/24")
    state = NetworkState.ACTIVE


class VMInterfaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VMInterface

    vm = factory.SubFactory(VirtualMachineFactory)
    network = factory.SubFactory(VirtualNetworkFactory)
    mac = factory.Sequence(lambda n: f"52:54:00:00:{n // 256 % 256:02x}:{n % 256:02x}")
    attached = True
