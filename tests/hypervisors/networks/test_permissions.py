"""Acting on a team's network needs the team admin role or the portal administrators' decide permission;
``is_staff`` alone is neither."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from hypervisors.choices import NetworkState
from hypervisors.models import VirtualNetwork
from hypervisors.networks.services import network_action_request
from tests.factories import HostFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent")]


@pytest.fixture
def network(team):
    host = HostFactory(name="kvm1")
    return VirtualNetwork.objects.create(
        host=host, team=team, name="lab", subnet="10.213.0.0/24", state=NetworkState.ACTIVE
    )


def test_bare_staff_may_not_delete_a_teams_network(network):
    bare_staff = UserFactory(username="operator", is_staff=True)
    with pytest.raises(PermissionDenied):
        network_action_request(actor=bare_staff, network_id=network.pk, slug="delete")


def test_staff_with_the_decide_permission_may(network):
    decider = UserFactory(username="decider", is_staff=True)
    decider.user_permissions.add(Permission.objects.get(codename="decide_resourcerequest"))
    job = network_action_request(actor=decider, network_id=network.pk, slug="delete")
    assert job.pk


def test_the_teams_admin_may(network, team_admin):
    assert network_action_request(actor=team_admin, network_id=network.pk, slug="delete").pk
