"""Which networks a team's VMs may use."""

from __future__ import annotations

import pytest

from hypervisors.choices import NetworkState
from hypervisors.networks.selectors import networks_usable_by
from tests.factories import TeamFactory
from tests.support.vm_networks import make_network

pytestmark = pytest.mark.django_db


# --- which networks a team's VMs may use ---


def test_networks_usable_by_are_shared_and_own_never_another_teams(host, team):
    red = TeamFactory(name="red2", slug="red2")
    shared = make_network(host, None, name="shared", subnet="10.213.1.0/24")
    own = make_network(host, team, name="own", subnet="10.213.2.0/24")
    make_network(host, red, name="theirs", subnet="10.213.3.0/24")
    make_network(host, team, name="building", subnet="10.213.4.0/24", state=NetworkState.BUILDING)
    stopped = make_network(host, team, name="stopped", subnet="10.213.5.0/24", state=NetworkState.INACTIVE)
    assert set(networks_usable_by(team)) == {shared, own, stopped}
    assert list(networks_usable_by(None)) == [shared]
