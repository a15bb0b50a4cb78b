"""Starting, stopping and deleting networks: who may, in which state, and the job that does it."""

from __future__ import annotations

import libvirt
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hypervisors.choices import NetworkJobAction, NetworkState
from hypervisors.models import VirtualNetwork, VMInterface
from hypervisors.networks.operations import network_operate
from hypervisors.networks.services import network_action_request
from portal.actions import ActionRefused
from portal.choices import JobState
from portal.models import Job
from tests.factories import VirtualMachineFactory
from tests.support.rows import usage_of
from tests.support.vm_networks import bring_up, make_network

pytestmark = pytest.mark.django_db


# --- starting, stopping, deleting networks ---


@pytest.fixture
def built(host, team, conn):
    """A team network that is defined and running on the test hypervisor."""
    network = make_network(host, team, name="lab", subnet="10.213.0.0/24")
    bring_up(network)
    return network


def test_team_admin_stops_starts_and_deletes_the_team_network(team_admin, team, built, conn):
    job = network_action_request(actor=team_admin, network_id=built.pk, slug="stop")
    assert (job.action, job.team) == (NetworkJobAction.NETWORK_STOP, team)
    network_operate(job_id=job.pk)
    built.refresh_from_db()
    assert built.state == NetworkState.INACTIVE
    assert not conn.networkLookupByUUIDString(str(built.uuid)).isActive()

    job = network_action_request(actor=team_admin, network_id=built.pk, slug="start")
    network_operate(job_id=job.pk)
    built.refresh_from_db()
    assert built.state == NetworkState.ACTIVE
    assert conn.networkLookupByUUIDString(str(built.uuid)).isActive()

    job = network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    network_operate(job_id=job.pk)
    assert Job.objects.get(pk=job.pk).state == JobState.SUCCEEDED
    assert not VirtualNetwork.objects.filter(pk=built.pk).exists()
    with pytest.raises(libvirt.libvirtError):
        conn.networkLookupByUUIDString(str(built.uuid))
    assert usage_of(team).used.network_count == 0


@pytest.mark.parametrize("slug", ["start", "stop", "delete"])
def test_members_may_not_act_on_networks(member, built, slug):
    with pytest.raises(PermissionDenied):
        network_action_request(actor=member, network_id=built.pk, slug=slug)
    assert not Job.objects.exists()


def test_other_teams_admins_may_not_act_on_a_network(outsider, built):
    with pytest.raises(PermissionDenied):
        network_action_request(actor=outsider, network_id=built.pk, slug="stop")


def test_shared_networks_are_run_by_portal_administrators_only(host, team_admin, staff):
    shared = make_network(host, None, name="shared")
    with pytest.raises(PermissionDenied):
        network_action_request(actor=team_admin, network_id=shared.pk, slug="stop")
    job = network_action_request(actor=staff, network_id=shared.pk, slug="stop")
    assert job.team is None


def test_actions_follow_the_network_state(team_admin, built):
    with pytest.raises(ActionRefused, match="cannot be asked to start"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="start")
    network_action_request(actor=team_admin, network_id=built.pk, slug="stop")
    with pytest.raises(ActionRefused, match="still running"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    with pytest.raises(ActionRefused, match="no network action 'rename'"):
        network_action_request(actor=team_admin, network_id=built.pk, slug="rename")


def test_delete_is_refused_while_vms_have_cards_on_the_network(team_admin, team, built):
    vm = VirtualMachineFactory(team=team, host=built.host)
    VMInterface.objects.create(vm=vm, network=built, mac="52:54:00:aa:bb:cc", attached=True)
    with pytest.raises(ValidationError) as refused:
        network_action_request(actor=team_admin, network_id=built.pk, slug="delete")
    assert refused.value.messages == ["VMs still have network cards on this network; detach them first."]
    assert not Job.objects.exists()


@pytest.mark.parametrize("shared", [False, True])
def test_the_network_lock_works_on_every_database(team_admin, staff, built, host, shared):
    """The lock every network action takes, on its own, for a team's and a shared network."""
    network = make_network(host, None, name="shared", subnet="10.213.9.0/24") if shared else built
    job = network_action_request(actor=staff, network_id=network.pk, slug="stop")
    assert job.action == NetworkJobAction.NETWORK_STOP


def test_network_operate_for_a_vanished_network(team_admin, team, host):
    from portal.jobs import job_create

    network = make_network(host, team, name="gone")
    stop = job_create(action=NetworkJobAction.NETWORK_STOP, team=team, requested_by=team_admin, target=network)
    delete = job_create(action=NetworkJobAction.NETWORK_DELETE, team=team, requested_by=team_admin, target=network)
    network.delete()
    network_operate(job_id=stop.pk)
    network_operate(job_id=delete.pk)
    assert Job.objects.get(pk=stop.pk).state == JobState.FAILED
    assert Job.objects.get(pk=delete.pk).state == JobState.SUCCEEDED, "deleting what is gone is success"
