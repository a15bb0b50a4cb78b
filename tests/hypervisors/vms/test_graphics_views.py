"""The graphical console tab and its ticket POST: only VMs of a graphical image have them, members and team
admins only, other teams 404, a stopped VM or a remote host says why, no secret on the page; admin sets it."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from hypervisors.choices import VMState
from hypervisors.models import Image
from hypervisors.vms.graphics import REMOTE_HOST
from hypervisors.vms.provisioning import domain_spec
from portal.choices import ConsoleKind
from portal.models import ConsoleTicket
from tests.factories import HostFactory, ImageFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(team, member):
    image = ImageFactory(graphical_console=True)
    return VirtualMachineFactory(team=team, owner=member, image=image, host=HostFactory(), state=VMState.RUNNING)


def ticket_post(client, vm):
    client.get(f"/vms/{vm.uuid}/")  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    return client.post(f"/vms/{vm.uuid}/graphics/ticket/", HTTP_X_CSRFTOKEN=token)


@pytest.mark.parametrize("who", ["member", "team_admin"])
def test_members_and_team_admins_get_a_ticket_and_the_graphical_tab(request, client_for, vm, who):
    client = client_for(request.getfixturevalue(who))
    response = ticket_post(client, vm)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert ConsoleTicket.objects.get().kind == ConsoleKind.GRAPHICAL
    page = client.get(f"/vms/{vm.uuid}/graphics/").content.decode()
    assert f'data-websocket-path="/ws/vms/{vm.uuid}/graphics/"' in page and "portal/graphics.js" in page
    assert "passw" not in page.lower()
    assert f"/vms/{vm.uuid}/graphics/" in client.get(f"/vms/{vm.uuid}/").content.decode()


def test_a_vm_of_an_image_without_a_display_has_no_graphical_tab(client_for, member, vm):
    vm.image.graphical_console = False
    vm.image.save()
    client = client_for(member)
    assert client.get(f"/vms/{vm.uuid}/graphics/").status_code == 404
    assert ticket_post(client, vm).status_code == 404
    detail = client.get(f"/vms/{vm.uuid}/").content.decode()
    assert f"/vms/{vm.uuid}/console/" in detail and f"/vms/{vm.uuid}/graphics/" not in detail


def test_viewers_get_no_graphical_console(client_for, viewer, vm):
    client = client_for(viewer)
    assert ticket_post(client, vm).status_code == 403
    assert client.get(f"/vms/{vm.uuid}/graphics/").status_code == 403
    assert f"/vms/{vm.uuid}/graphics/" not in client.get(f"/vms/{vm.uuid}/").content.decode()
    assert not ConsoleTicket.objects.exists()


def test_other_teams_get_404(client_for, outsider, vm):
    client = client_for(outsider)
    assert client.get(f"/vms/{vm.uuid}/graphics/").status_code == 404
    assert client.post(f"/vms/{vm.uuid}/graphics/ticket/").status_code in (403, 404)


def test_a_stopped_vm_says_to_start_it(client_for, member, vm):
    vm.state = VMState.SHUTOFF
    vm.save()
    client = client_for(member)
    response = ticket_post(client, vm)
    assert response.status_code == 409 and response.json() == {"message": "Start the VM to use its console."}
    assert not ConsoleTicket.objects.exists()


def test_a_vm_on_a_remote_host_explains_why_there_is_no_display(client_for, member, vm):
    vm.host.uri = "qemu+ssh://root@hv2.example/system"
    vm.host.save()
    client = client_for(member)
    page = client.get(f"/vms/{vm.uuid}/graphics/")
    assert page.status_code == 200 and escape(REMOTE_HOST) in page.content.decode()
    assert "data-graphics " not in page.content.decode()
    response = ticket_post(client, vm)
    assert response.status_code == 409 and response.json() == {"message": REMOTE_HOST}


def test_an_admin_declares_an_image_graphical_and_its_vms_get_a_display(admin_client, settings, tmp_path, team):
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    response = admin_client.post(
        "/admin/hypervisors/image/add/",
        {
            "name": "desktop", "os_name": "x", "boot_source": "kernel", "kernel_path": str(tmp_path / "vmlinuz"),
            "initrd_path": "", "kernel_cmdline": "", "min_memory_mib": 64, "min_disk_gib": 1, "is_active": "on",
            "graphical_console": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302
    image = Image.objects.get(name="desktop")
    assert image.graphical_console
    vm = VirtualMachineFactory(team=team, image=image, host=HostFactory())
    assert domain_spec(vm, "/var/lib/libvirt/images/disk.qcow2").graphics is True
    vm.image = ImageFactory()
    assert domain_spec(vm, "/var/lib/libvirt/images/disk.qcow2").graphics is False
