"""Many asks and approvals at the limit at once never overshoot a quota (PostgreSQL row locks)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from config.celery import app as celery_app
from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import RequestState
from portal.models import Job, ResourceRequest
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_submit
from tests.support.threads import run_at_once as threads_at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 20
FITS = 5


def run_at_once(work, count=THREADS):
    """Run ``work(i)`` in ``count`` threads released together; return ({i: result}, {i: exception})."""
    return threads_at_once(work, count)


def submit(actor, team, name, vcpus=1):
    return request_submit(
        actor=actor,
        team=team,
        kind=HypervisorKind.VM,
        name=name,
        vcpus=vcpus,
        memory_mib=64,
        disk_gib=1,
        justification="load",
        spec={},
    )


@pytest.fixture
def sent(monkeypatch):
    """Record provisioning tasks sent after commit, from any thread, instead of reaching Redis."""
    calls = []
    lock = threading.Lock()

    def record(args=None, kwargs=None, **options):
        with lock:
            calls.append(args)

    monkeypatch.setattr(celery_app.tasks["hypervisors.tasks.vm_provision"], "apply_async", record)
    return calls


@pytest.mark.parametrize(
    ("limit", "vcpus_each"),
    [
        pytest.param({"vm_count": FITS}, 1, id="vm-count"),
        pytest.param({"vcpus": Decimal(2 * FITS)}, 2, id="vcpus"),
    ],
)
def test_parallel_submissions_stop_at_the_quota(team, member, limit, vcpus_each):
    quota = team.quota
    quota.vcpus, quota.memory_mib, quota.disk_gib, quota.vm_count = Decimal("100"), 100_000, 1000, 100
    for field, value in limit.items():
        setattr(quota, field, value)
    quota.save()

    results, errors = run_at_once(lambda i: submit(member, team, f"vm{i}", vcpus=vcpus_each))

    assert len(results) == FITS
    assert len(errors) == THREADS - FITS
    assert all(isinstance(error, QuotaExceeded) for error in errors.values()), errors
    assert ResourceRequest.objects.filter(team=team, state=RequestState.PENDING).count() == FITS


def test_parallel_approvals_stop_at_the_quota(team, member, staff, sent):
    quota = team.quota
    quota.vcpus, quota.memory_mib, quota.disk_gib, quota.vm_count = Decimal("100"), 100_000, 1000, THREADS
    quota.save()
    request_ids = [submit(member, team, f"vm{i}").pk for i in range(THREADS)]
    quota.vm_count = FITS  # lowered after people asked: approvals must obey it
    quota.save()

    results, errors = run_at_once(lambda i: request_approve(actor=staff, request_id=request_ids[i]))

    assert len(results) == FITS
    assert all(isinstance(error, QuotaExceeded) for error in errors.values()), errors
    states = list(ResourceRequest.objects.filter(team=team).values_list("state", flat=True))
    assert states.count(RequestState.APPROVED) == FITS
    assert states.count(RequestState.PENDING) == THREADS - FITS
    assert VirtualMachine.objects.filter(team=team).count() == FITS
    assert Job.objects.count() == FITS
    # each approved request's job was sent once, after its own commit
    assert sorted(args for args in sent) == sorted((job.pk,) for job in results.values())
