"""factory_boy factories for the base's rows: people, teams, quotas, requests, jobs and audit events."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType

from hypervisors.choices import HostJobAction, HypervisorKind
from portal.choices import Role
from portal.models import AuditEvent, AutoApprovalPolicy, Job, Membership, Quota, ResourceRequest, Team


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
    quota = factory.RelatedFactory("tests.factories.portal.QuotaFactory", factory_related_name="team")


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


class JobFactory(factory.django.DjangoModelFactory):
    """A queued job with no target; pass ``target=`` a row to point it at one."""

    class Meta:
        model = Job
        exclude = ("target",)

    action = HostJobAction.HOST_PROBE
    team = factory.SubFactory(TeamFactory)
    requested_by = factory.SubFactory(UserFactory)
    target = None
    target_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.target) if o.target else None)
    target_id = factory.LazyAttribute(lambda o: str(o.target.pk) if o.target else "")


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = "request.submit"
    team = factory.SubFactory(TeamFactory)
    target_repr = "blue/web"


class AutoApprovalPolicyFactory(factory.django.DjangoModelFactory):
    """A global policy for VMs with no limit; pass ``team=`` for a team's own, and the limits to test."""

    class Meta:
        model = AutoApprovalPolicy

    name = factory.Sequence(lambda n: f"policy{n}")
    team = None
    kinds = factory.LazyFunction(lambda: [HypervisorKind.VM.value])
