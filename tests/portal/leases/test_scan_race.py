"""Two lease scans at once (two beat instances, or a run overlapping the next) act on each resource once.

PostgreSQL only: the claim is ``select_for_update(skip_locked=True)`` plus the state field it sets.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from portal.leases.scan import lease_scan
from portal.models import AuditEvent, Job
from portal.notifications.models import Notification
from tests.factories import ContainerFactory, HostFactory, TeamFactory, VirtualMachineFactory
from tests.portal.test_concurrency import run_at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]

NOW = timezone.now()
PER_TEAM = 6


@pytest.fixture
def expired(member, team, sent):
    """Running VMs and containers of two teams whose leases ended an hour ago."""
    other = TeamFactory(name="green", slug="green")
    host = HostFactory()
    rows = []
    for owner_team in (team, other):
        for _ in range(PER_TEAM):
            rows.append(VirtualMachineFactory(team=owner_team, owner=member, host=host))
            rows.append(ContainerFactory(team=owner_team, owner=member))
    for row in rows:
        row.save(update_fields=row.lease_set(ends_at=NOW - timedelta(hours=1), grace_days=7))
    return rows


def test_two_scans_at_once_stop_each_resource_once(expired, member, sent):
    results, errors = run_at_once(lambda i: lease_scan(now=NOW), count=2)
    assert errors == {}
    stopped = [pk for result in results.values() for pks in result.stopped.values() for pk in pks]
    assert len(stopped) == len(expired), "every resource stopped by exactly one of the scans"
    jobs = Counter(Job.objects.values_list("target_type", "target_id"))
    assert len(jobs) == len(expired) and set(jobs.values()) == {1}, "one stop job per resource"
    assert AuditEvent.objects.filter(action="lease.stop").count() == len(expired)
    assert Notification.objects.filter(user=member, subject__contains="was stopped").count() == len(expired)
    assert len(sent) == len(expired), "one task sent per resource, after commit"

    results, errors = run_at_once(lambda i: lease_scan(now=NOW + timedelta(days=8)), count=2)
    assert errors == {}
    deleted = [pk for result in results.values() for pks in result.deleted.values() for pk in pks]
    assert deleted == [], "every resource still has its stop job queued: deletion waits for it"
    Job.objects.update(state="succeeded")
    results, errors = run_at_once(lambda i: lease_scan(now=NOW + timedelta(days=8)), count=2)
    assert errors == {}
    deleted = [pk for result in results.values() for pks in result.deleted.values() for pk in pks]
    assert len(deleted) == len(expired)
    assert AuditEvent.objects.filter(action="lease.delete").count() == len(expired)
