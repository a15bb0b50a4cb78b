"""Fixtures of quota changes: the blue team's quota, and an ask of its team admin for more."""

from decimal import Decimal

import pytest

from portal.models import Quota
from portal.quota_requests.services import quota_change_submit


@pytest.fixture
def quota(team):
    """The team's quota (the team factory made one), set to small figures."""
    Quota.objects.filter(team=team).update(vcpus=Decimal("4"), memory_mib=1024, vm_count=2)
    return Quota.objects.get(team=team)


@pytest.fixture
def change(team, team_admin, quota):
    """A pending ask for 8 vCPUs and 4 VMs."""
    return quota_change_submit(
        actor=team_admin, team=team, limits={"vcpus": Decimal("8"), "vm_count": 4}, justification="a new course"
    )
