"""factory_boy factories for the portal's rows."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import User

from containers.models import DockerHost
from hypervisors.choices import DomainType, HypervisorKind
from hypervisors.models import Host, Image, VirtualMachine
from portal.choices import Role
from portal.models import Membership, Quota, ResourceRequest, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"team{n}")
    slug = factory.Sequence(lambda n: f"team{n}")
    quota = factory.RelatedFactory("tests.factories.QuotaFactory", factory_related_name="team")


class QuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quota

    team = factory.SubFactory(TeamFactory, quota=None)
    vcpus = Decimal("8")
    memory_mib = 4096
    disk_gib = 100
    vm_count = 10
    container_count = 10


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.MEMBER


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


class ResourceRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceRequest

    team = factory.SubFactory(TeamFactory)
    kind = HypervisorKind.VM
    name = factory.Sequence(lambda n: f"vm{n}")
    vcpus = Decimal("1")
    memory_mib = 128
    disk_gib = 1
    justification = "testing"
    requested_by = factory.SubFactory(UserFactory)
    spec = factory.LazyAttribute(lambda o: {})


class VirtualMachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VirtualMachine

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"vm{n}")
    vcpus = 1
    memory_mib = 128
    disk_gib = 1
    state = "running"


class DockerHostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DockerHost

    name = factory.Sequence(lambda n: f"docker{n}")
    base_url = factory.Sequence(lambda n: f"unix:///run/docker{n}.sock")
