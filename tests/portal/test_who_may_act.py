"""The access matrix of actions on live resources: one rule for VMs, containers and networks.

Any member runs the team's resources; what destroys work or data (delete,
remove, force off, reset, revert or delete a snapshot, stop or delete a network)
is for the resource's owner or a team admin. Pages show only the buttons the
services accept.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from containers.containers.actions import ACTIONS as CONTAINER_ACTIONS
from containers.containers.actions import BUTTONS as CONTAINER_BUTTONS
from containers.containers.services import container_action_request
from containers.models import DockerNetwork
from containers.networks.services import docker_network_delete_request
from hypervisors.choices import NetworkState
from hypervisors.models import Snapshot, VirtualNetwork
from hypervisors.networks.services import network_action_request
from hypervisors.vms.selectors import vm_actions_for
from hypervisors.vms.services import vm_action_request, vm_snapshot_request
from portal.actions import actions_allowed
from portal.choices import Role
from tests.factories import DockerHostFactory, HostFactory, MembershipFactory, UserFactory, VirtualMachineFactory
from tests.support.container_rows import image_row, make_container

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent")]

ROLES = ("viewer", "member", "owner", "team_admin", "outsider")


@pytest.fixture
def owner(team):
    user = UserFactory(username="owner")
    MembershipFactory(user=user, team=team, role=Role.MEMBER)
    return user


@pytest.fixture
def people(viewer, member, owner, team_admin, outsider):
    return {"viewer": viewer, "member": member, "owner": owner, "team_admin": team_admin, "outsider": outsider}


@pytest.fixture
def vm(team, owner):
    return VirtualMachineFactory(team=team, owner=owner, host=HostFactory(), state="running")


#: VM action -> the roles that may ask it of a running VM owned by "owner".
VM_MATRIX = {
    "reboot": {"member", "owner", "team_admin"},
    "shutdown": {"member", "owner", "team_admin"},
    "suspend": {"member", "owner", "team_admin"},
    "power-off": {"owner", "team_admin"},
    "reset": {"owner", "team_admin"},
    "delete": {"owner", "team_admin"},
}


@pytest.mark.parametrize("slug", sorted(VM_MATRIX))
@pytest.mark.parametrize("who", ROLES)
def test_vm_actions_follow_the_rule(people, vm, slug, who):
    if who in VM_MATRIX[slug]:
        assert vm_action_request(actor=people[who], vm_id=vm.pk, slug=slug).pk
    else:
        with pytest.raises(PermissionDenied):
            vm_action_request(actor=people[who], vm_id=vm.pk, slug=slug)


SNAPSHOT_MATRIX = {
    "snapshot-create": {"member", "owner", "team_admin"},
    "snapshot-revert": {"owner", "team_admin"},
    "snapshot-delete": {"owner", "team_admin"},
}


@pytest.mark.parametrize("slug", sorted(SNAPSHOT_MATRIX))
@pytest.mark.parametrize("who", ROLES)
def test_snapshot_actions_follow_the_rule(people, vm, slug, who, settings):
    Snapshot.objects.create(vm=vm, name="before")
    name = "after" if slug == "snapshot-create" else "before"
    if who in SNAPSHOT_MATRIX[slug]:
        assert vm_snapshot_request(actor=people[who], vm_id=vm.pk, slug=slug, name=name).pk
    else:
        with pytest.raises(PermissionDenied):
            vm_snapshot_request(actor=people[who], vm_id=vm.pk, slug=slug, name=name)


def test_a_vm_nobody_owns_is_its_team_admins(people, team):
    orphan = VirtualMachineFactory(team=team, owner=None, host=HostFactory(), state="running")
    with pytest.raises(PermissionDenied, match="owner or a team admin"):
        vm_action_request(actor=people["member"], vm_id=orphan.pk, slug="delete")
    assert vm_action_request(actor=people["team_admin"], vm_id=orphan.pk, slug="delete").pk


def test_superusers_act_as_team_admins(vm, staff):
    assert vm_action_request(actor=staff, vm_id=vm.pk, slug="delete").pk


@pytest.mark.parametrize("who", ROLES)
def test_vm_page_offers_only_what_the_services_accept(people, vm, who):
    from portal.permissions import role_in

    shown = {a.slug for a in vm_actions_for(role_in(people[who], vm.team), vm, False, people[who].pk)}
    # The buttons a running VM offers are exactly the actions of the matrix.
    assert shown == {slug for slug, roles in VM_MATRIX.items() if who in roles}


def test_vm_page_hides_destructive_buttons_from_other_members(client_for, member, owner, vm):
    page = client_for(member).get(f"/vms/{vm.uuid}/").content.decode()
    own_page = client_for(owner).get(f"/vms/{vm.uuid}/").content.decode()
    assert "/delete/" not in page and ">Force off<" not in page
    assert "Reboot" in page
    assert ">Force off<" in own_page


@pytest.fixture
def container(team, owner):
    docker_host = DockerHostFactory()
    image = image_row(docker_host, "portal/busybox:latest", team)
    return make_container(team, owner, docker_host=docker_host, image=image, name="web")


CONTAINER_MATRIX = {
    "stop": {"member", "owner", "team_admin"},
    "restart": {"member", "owner", "team_admin"},
    "remove": {"owner", "team_admin"},
}


@pytest.mark.parametrize("slug", sorted(CONTAINER_MATRIX))
@pytest.mark.parametrize("who", ROLES)
def test_container_actions_follow_the_rule(people, container, slug, who):
    if who in CONTAINER_MATRIX[slug]:
        assert container_action_request(actor=people[who], container_id=container.pk, slug=slug).pk
    else:
        with pytest.raises(PermissionDenied):
            container_action_request(actor=people[who], container_id=container.pk, slug=slug)


@pytest.mark.parametrize("who", ["member", "owner", "team_admin"])
def test_container_page_offers_remove_only_to_owner_and_admins(people, container, who):
    from portal.permissions import role_in

    offered = actions_allowed(
        [CONTAINER_ACTIONS[s] for s in CONTAINER_BUTTONS],
        role=role_in(people[who], container.team),
        state=container.state,
        busy=False,
        user_id=people[who].pk,
        owner_id=container.owner_id,
    )
    assert ("remove" in {a.slug for a in offered}) == (who in CONTAINER_MATRIX["remove"])


@pytest.mark.parametrize("who", ROLES)
def test_team_networks_are_their_team_admins(people, team, owner, who):
    network = VirtualNetwork.objects.create(
        host=HostFactory(), team=team, name="lab", subnet="10.213.0.0/24", state=NetworkState.ACTIVE
    )
    docker_network = DockerNetwork.objects.create(
        team=team, docker_host=DockerHostFactory(), name="apps", state="active"
    )
    if who == "team_admin":
        assert network_action_request(actor=people[who], network_id=network.pk, slug="stop").pk
        assert docker_network_delete_request(actor=people[who], network_id=docker_network.pk).pk
    else:
        with pytest.raises(PermissionDenied):
            network_action_request(actor=people[who], network_id=network.pk, slug="stop")
        with pytest.raises(PermissionDenied):
            docker_network_delete_request(actor=people[who], network_id=docker_network.pk)
