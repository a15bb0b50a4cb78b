"""Many in-policy asks at once at the quota limit: exactly those that fit are approved, none past it (PostgreSQL)."""

from decimal import Decimal

import pytest
from django.db import connection

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import RequestState
from portal.models import Job, ResourceRequest
from portal.quotas import QuotaExceeded
from portal.services import request_submit
from tests.factories import AutoApprovalPolicyFactory
from tests.support.threads import run_at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 50
FITS = 7


@pytest.mark.parametrize(
    ("limit", "vcpus_each"),
    [
        pytest.param({"vm_count": FITS}, 1, id="vm-count"),
        pytest.param({"vcpus": Decimal(2 * FITS)}, 2, id="vcpus"),
    ],
)
def test_parallel_asks_in_policy_are_approved_up_to_the_quota(team, member, sent, limit, vcpus_each):
    AutoApprovalPolicyFactory(name="small-vms", max_vcpus=Decimal(2))
    quota = team.quota
    quota.vcpus, quota.memory_mib, quota.disk_gib, quota.vm_count = Decimal("1000"), 1_000_000, 10_000, 1000
    for field, value in limit.items():
        setattr(quota, field, value)
    quota.save()

    def ask(i):
        return request_submit(
            actor=member, team=team, kind=HypervisorKind.VM, name=f"vm{i}", vcpus=vcpus_each, memory_mib=64,
            disk_gib=1, justification="load", spec={},
        )  # fmt: skip

    results, errors = run_at_once(ask, THREADS)

    assert len(results) == FITS
    assert all(isinstance(error, QuotaExceeded) for error in errors.values()), errors
    assert len(errors) == THREADS - FITS
    requests = ResourceRequest.objects.filter(team=team)
    assert requests.count() == FITS
    assert requests.filter(state=RequestState.APPROVED, approval_policy__name="small-vms").count() == FITS
    assert VirtualMachine.objects.filter(team=team).count() == FITS
    jobs = Job.objects.filter(team=team)
    assert jobs.count() == FITS
    # each approved ask's job was sent once, after its own commit
    assert sorted(call["args"] for call in sent) == sorted((job.pk,) for job in jobs)


def test_parallel_asks_of_one_person_stop_at_the_policys_daily_limit(team, member, sent):
    """The rest are still taken, as pending asks for an administrator."""
    AutoApprovalPolicyFactory(name="three-a-day", max_asks_per_user_per_day=3)

    def ask(i):
        return request_submit(
            actor=member, team=team, kind=HypervisorKind.VM, name=f"vm{i}", vcpus=1, memory_mib=64, disk_gib=1,
            justification="load", spec={},
        )  # fmt: skip

    results, errors = run_at_once(ask, 8)

    assert errors == {}
    states = sorted(request.state for request in results.values())
    assert states.count(RequestState.APPROVED) == 3
    assert states.count(RequestState.PENDING) == 5
