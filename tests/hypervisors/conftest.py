"""Fixtures of the hypervisors app's tests: the host they run on, an address pool, a team that may hold networks."""

from __future__ import annotations

import pytest

from hypervisors.models import AddressPool, Host
from portal.models import Team
from tests.support.metrics import metrics_token  # noqa: F401 (a fixture)


@pytest.fixture
def host(libvirt_test_host) -> Host:
    """The host tests work on: libvirt's in-process test hypervisor (modules that need a row only override it)."""
    return libvirt_test_host


@pytest.fixture
def pool(db) -> AddressPool:
    return AddressPool.objects.create(name="lab", cidr="10.213.0.0/16", subnet_prefix=24)


@pytest.fixture
def network_quota(team) -> Team:
    """The team may hold two networks (the factories' quota allows none)."""
    team.quota.network_count = 2
    team.quota.save()
    return team
