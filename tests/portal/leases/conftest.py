"""Fixtures of the lease tests: a team's lease policy for VMs, and the days around today."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.choices import HypervisorKind
from portal.leases.models import LeasePolicy
from tests.support.api import api_throttle_cache, session_client, token_client  # noqa: F401 (fixtures)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def vm_policy(team):
    """VMs of the team: 30 days by default, 90 at most, 7 days of grace."""
    return LeasePolicy.objects.create(team=team, kind=HypervisorKind.VM, default_days=30, max_days=90, grace_days=7)


def days_from(today, days):
    return (today + timedelta(days=days)).isoformat()
