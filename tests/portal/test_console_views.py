"""The console tab and its ticket POST: members and team admins only, other teams 404, a stopped VM says so."""

from __future__ import annotations

import pytest

from hypervisors.choices import VMState
from portal.models import ConsoleTicket
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(team, member):
    return VirtualMachineFactory(team=team, owner=member, host=HostFactory(), state=VMState.RUNNING)


def ticket_post(client, vm, **data):
    client.get(f"/vms/{vm.uuid}/")  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    return client.post(f"/vms/{vm.uuid}/console/ticket/", data, HTTP_X_CSRFTOKEN=token)


@pytest.mark.parametrize("who", ["member", "team_admin"])
def test_members_and_team_admins_get_a_ticket_and_the_console_tab(request, client_for, vm, who):
    client = client_for(request.getfixturevalue(who))
    response = ticket_post(client, vm)
    assert response.status_code == 200 and len(response.json()["ticket"]) >= 40
    assert ConsoleTicket.objects.get().take_over is False
    page = client.get(f"/vms/{vm.uuid}/console/").content.decode()
    assert f'data-websocket-path="/ws/vms/{vm.uuid}/console/"' in page and "vendor/xterm/lib/xterm.js" in page
    assert f"/vms/{vm.uuid}/console/" in client.get(f"/vms/{vm.uuid}/").content.decode()


def test_take_over_is_asked_for_in_the_ticket(client_for, member, vm):
    assert ticket_post(client_for(member), vm, take_over="1").status_code == 200
    assert ConsoleTicket.objects.get().take_over is True


def test_viewers_get_no_console(client_for, viewer, vm):
    client = client_for(viewer)
    assert ticket_post(client, vm).status_code == 403
    assert client.get(f"/vms/{vm.uuid}/console/").status_code == 403
    assert f"/vms/{vm.uuid}/console/" not in client.get(f"/vms/{vm.uuid}/").content.decode()
    assert not ConsoleTicket.objects.exists()


def test_other_teams_get_404(client_for, outsider, vm):
    client = client_for(outsider)
    assert client.get(f"/vms/{vm.uuid}/console/").status_code == 404
    assert client.post(f"/vms/{vm.uuid}/console/ticket/").status_code in (403, 404)


def test_a_stopped_vm_says_to_start_it(client_for, member, vm):
    vm.state = VMState.SHUTOFF
    vm.save()
    client = client_for(member)
    response = ticket_post(client, vm)
    assert response.status_code == 409 and response.json() == {"message": "Start the VM to use its console."}
    page = client.get(f"/vms/{vm.uuid}/console/").content.decode()
    assert "Start the VM to use its console." in page and "data-console " not in page
    assert not ConsoleTicket.objects.exists()
