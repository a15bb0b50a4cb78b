"""Admin cannot orphan real resources: no bulk delete of VMs, containers or requests, and no per-object
delete while the VM, container or request still stands for something real."""

from __future__ import annotations

import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from portal.choices import RequestState
from portal.models import ResourceRequest
from tests.factories import DockerHostFactory, ResourceRequestFactory, VirtualMachineFactory
from tests.support.container_rows import image_row, make_container

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent")]

CHANGELISTS = ("/admin/hypervisors/virtualmachine/", "/admin/containers/container/", "/admin/portal/resourcerequest/")


@pytest.fixture
def admin(admin_client):
    """Admin's own pages: Django's admin forms are tested here, CSRF is tested elsewhere."""
    return admin_client


@pytest.mark.parametrize("url", CHANGELISTS)
def test_delete_selected_is_not_offered(admin, url):
    page = admin.get(url).content.decode()
    assert 'value="delete_selected"' not in page


def test_bulk_delete_posted_anyway_deletes_no_vm(admin, team):
    vm = VirtualMachineFactory(team=team, state="running")
    response = admin.post(
        "/admin/hypervisors/virtualmachine/", {"action": "delete_selected", "_selected_action": [vm.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_a_running_vm_cannot_be_deleted_from_admin(admin, team):
    vm = VirtualMachineFactory(team=team, state="running")
    assert admin.get(f"/admin/hypervisors/virtualmachine/{vm.pk}/delete/").status_code == 403
    assert admin.post(f"/admin/hypervisors/virtualmachine/{vm.pk}/delete/", {"post": "yes"}).status_code == 403
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_the_row_of_a_vm_gone_from_its_host_may_be_deleted(admin, team):
    vm = VirtualMachineFactory(team=team, state="missing")
    assert admin.post(f"/admin/hypervisors/virtualmachine/{vm.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_a_live_container_cannot_be_deleted_from_admin(admin, team, member):
    docker_host = DockerHostFactory()
    container = make_container(
        team, member, docker_host=docker_host, image=image_row(docker_host, "x/y:1", team), name="web"
    )
    response = admin.post(f"/admin/containers/container/{container.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert type(container).objects.filter(pk=container.pk).exists()


def test_a_request_with_a_live_resource_cannot_be_deleted(admin, team, member):
    docker_host = DockerHostFactory()
    container = make_container(
        team, member, docker_host=docker_host, image=image_row(docker_host, "x/y:1", team), name="web"
    )
    request = container.request
    assert request.state == RequestState.FULFILLED
    assert admin.post(f"/admin/portal/resourcerequest/{request.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ResourceRequest.objects.filter(pk=request.pk).exists()


@pytest.mark.parametrize("state", [RequestState.PENDING, RequestState.APPROVED, RequestState.PROVISIONING])
def test_an_active_request_cannot_be_deleted(admin, team, member, state):
    request = ResourceRequestFactory(team=team, requested_by=member, state=state, kind=HypervisorKind.VM)
    assert admin.post(f"/admin/portal/resourcerequest/{request.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ResourceRequest.objects.filter(pk=request.pk).exists()


def test_a_finished_request_with_nothing_left_may_be_deleted(admin, team, member):
    request = ResourceRequestFactory(team=team, requested_by=member, state=RequestState.REJECTED)
    assert admin.post(f"/admin/portal/resourcerequest/{request.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ResourceRequest.objects.filter(pk=request.pk).exists()
