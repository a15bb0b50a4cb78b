"""Network pages: the /networks/ overview with its pictures, a VM's network cards, network actions, host topology.

Pages render from rows only: no hypervisor or engine is contacted (``no_hypervisor``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from containers.models import Container, ContainerImage, DockerNetwork
from hypervisors.choices import NetworkJobAction, NetworkKind, NetworkState, VMJobAction
from hypervisors.models import VirtualNetwork, VMInterface
from portal.choices import Role
from portal.models import Job
from tests.factories import (
    DockerHostFactory,
    HostFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VirtualMachineFactory,
)
from tests.support.pages import count_queries as queries_for
from tests.support.pages import csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]

SVG = "{http://www.w3.org/2000/svg}"


def svgs(response) -> list[ET.Element]:
    """Every topology picture of a page, parsed as XML (a picture that is not well-formed fails here)."""
    found = re.findall(r"<svg\b.*?</svg>", response.content.decode(), flags=re.DOTALL)
    return [ET.fromstring(document) for document in found]


def texts(svg: ET.Element) -> list[str]:
    return [element.text or "" for element in svg.iter(f"{SVG}text")]


@pytest.fixture
def host(db):
    return HostFactory(name="kvm1", uri="qemu+tcp://127.0.0.1:1/kvm1")


@pytest.fixture
def red(db):
    return TeamFactory(name="red", slug="red")


@pytest.fixture
def red_admin(red):
    user = UserFactory(username="red-admin")
    MembershipFactory(user=user, team=red, role=Role.TEAM_ADMIN)
    return user


def make_network(host, team=None, name="lab", subnet="10.213.0.0/24", **values):
    values.setdefault("state", NetworkState.ACTIVE)
    return VirtualNetwork.objects.create(host=host, team=team, name=name, subnet=subnet, **values)


def card(vm, network, mac, *addresses):
    return VMInterface.objects.create(vm=vm, network=network, mac=mac, ip_addresses=list(addresses), attached=True)


@pytest.fixture
def docker_host(db):
    return DockerHostFactory(name="docker-a", base_url="unix:///nonexistent/docker-a.sock")


def make_container(team, docker_host, name):
    image, _ = ContainerImage.objects.get_or_create(
        docker_host=docker_host, reference="portal/busybox:latest", defaults={"image_id": "sha256:x"}
    )
    return Container.objects.create(
        team=team, docker_host=docker_host, image=image, name=name, cpus=Decimal("0.5"), memory_mib=64,
        engine_id=f"{name}-id", state="running",
    )  # fmt: skip


@pytest.fixture
def scene(host, team, red, docker_host):
    """Blue and red, each with a network, a VM on it and on the shared network, and a container network."""
    shared = make_network(host, None, name="shared", subnet="10.213.100.0/24")
    blue_lab = make_network(host, team, name="lab", subnet="10.213.1.0/24")
    red_lab = make_network(host, red, name="secret", subnet="10.213.2.0/24")
    blue_vm = VirtualMachineFactory(team=team, host=host, name="web")
    red_vm = VirtualMachineFactory(team=red, host=host, name="db")
    card(blue_vm, blue_lab, "52:54:00:00:01:01", "10.213.1.10")
    card(blue_vm, shared, "52:54:00:00:01:02", "10.213.100.10")
    card(red_vm, red_lab, "52:54:00:00:02:01", "10.213.2.20")
    card(red_vm, shared, "52:54:00:00:02:02", "10.213.100.20")
    blue_net = DockerNetwork.objects.create(
        team=team, docker_host=docker_host, name="apps", subnet="172.30.0.0/16", state="active"
    )
    red_net = DockerNetwork.objects.create(
        team=red, docker_host=docker_host, name="hidden", subnet="172.31.0.0/16", state="active"
    )
    blue_net.containers.add(make_container(team, docker_host, "app"))
    red_net.containers.add(make_container(red, docker_host, "spy"))
    return {"shared": shared, "blue_lab": blue_lab, "red_lab": red_lab, "blue_vm": blue_vm, "red_vm": red_vm}


RED_THINGS = ["red/secret", "red/db", "52:54:00:00:02:01", "52:54:00:00:02:02", "10.213.2.20", "red/hidden", "red/spy"]


# --- /networks/ ---


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/networks/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/networks/"


def test_member_sees_the_teams_picture_with_cards_and_addresses(client_for, member, scene):
    response = client_for(member).get("/networks/")
    assert response.status_code == 200
    (svg,) = svgs(response)
    assert svg.get("class") == "topology"
    assert svg.findtext(f"{SVG}title") == "3 networks, 2 machines, 3 connections"
    labels = texts(svg)
    for expected in ("shared (shared)", "blue/lab", "blue/web", "blue/apps", "blue/app"):
        assert expected in labels, (expected, labels)
    assert "52:54:00:00:01:01 10.213.1.10" in labels
    assert "52:54:00:00:01:02 10.213.100.10" in labels
    assert len(list(svg.iter(f"{SVG}line"))) == 3
    hrefs = [a.get("href") for a in svg.iter(f"{SVG}a")]
    assert f"/vms/{scene['blue_vm'].uuid}/" in hrefs
    page = text(response)
    for secret in RED_THINGS:
        assert secret not in page, secret


def test_the_other_team_sees_only_its_own(client_for, red_admin, scene):
    response = client_for(red_admin).get("/networks/")
    (svg,) = svgs(response)
    labels = texts(svg)
    assert "red/secret" in labels
    assert "52:54:00:00:02:02 10.213.100.20" in labels
    page = text(response)
    for secret in ("blue/lab", "blue/web", "52:54:00:00:01:01", "52:54:00:00:01:02", "blue/apps", "blue/app"):
        assert secret not in page, secret


def test_a_user_of_two_teams_gets_one_picture_each(client_for, member, red, scene):
    MembershipFactory(user=member, team=red, role=Role.VIEWER)
    response = client_for(member).get("/networks/")
    blue_svg, red_svg = svgs(response)  # teams in name order
    assert "blue/web" in texts(blue_svg) and "red/db" not in texts(blue_svg)
    assert "red/db" in texts(red_svg) and "blue/web" not in texts(red_svg)
    assert "52:54:00:00:01:02 10.213.100.10" not in texts(red_svg), "the shared network shows each team its own VMs"


def test_names_typed_by_admins_are_escaped_in_the_picture(client_for, member, host, team):
    make_network(host, None, name='<script>alert("x")</script> & co', subnet="10.213.9.0/24")
    response = client_for(member).get("/networks/")
    assert "<script>alert" not in response.content.decode()
    (svg,) = svgs(response)
    assert '<script>alert("x")</script> & co (shared)' in texts(svg)


def test_a_user_without_teams_sees_no_picture(client_for, scene):
    response = client_for(UserFactory(username="loner")).get("/networks/")
    assert response.status_code == 200
    assert svgs(response) == []
    assert "You are not in any team yet." in text(response)


def test_team_admins_get_delete_buttons_members_do_not(client_for, member, team_admin, scene):
    delete_url = f"/networks/vm/{scene['blue_lab'].pk}/actions/delete/"
    assert delete_url in client_for(team_admin).get("/networks/").content.decode()
    assert delete_url not in client_for(member).get("/networks/").content.decode()
    shared_delete = f"/networks/vm/{scene['shared'].pk}/actions/delete/"
    assert shared_delete not in client_for(team_admin).get("/networks/").content.decode()


def populate(host, team, docker_host, count: int, offset: int = 0) -> None:
    for i in range(offset, offset + count):
        network = make_network(host, team, name=f"n{i}", subnet=f"10.213.{i + 10}.0/24")
        vm = VirtualMachineFactory(team=team, host=host, name=f"vm{i}")
        card(vm, network, f"52:54:00:10:00:{i:02x}", f"10.213.{i + 10}.5")


def populate_containers(team, docker_host, count: int, offset: int = 0) -> None:
    for i in range(offset, offset + count):
        network = DockerNetwork.objects.create(team=team, docker_host=docker_host, name=f"d{i}", state="active")
        network.containers.add(make_container(team, docker_host, f"c{i}"))


def test_overview_query_count_does_not_grow_with_vm_networks(client_for, member, host, team, docker_host):
    client = client_for(member)
    populate(host, team, docker_host, 1)
    one = queries_for(client, "/networks/")
    populate(host, team, docker_host, 19, offset=1)
    twenty = queries_for(client, "/networks/")
    assert len(svgs(client.get("/networks/"))[0].findall(f"{SVG}line")) == 20
    assert twenty == one, f"{one} queries for 1 network and VM, {twenty} for 20"


def test_overview_query_count_does_not_grow_with_container_networks(client_for, member, team, docker_host):
    client = client_for(member)
    populate_containers(team, docker_host, 1)
    one = queries_for(client, "/networks/")
    populate_containers(team, docker_host, 19, offset=1)
    twenty = queries_for(client, "/networks/")
    assert twenty == one, f"{one} queries for 1 container network, {twenty} for 20"


# --- a VM's network cards ---


@pytest.fixture
def vm(team, member, host):
    return VirtualMachineFactory(team=team, owner=member, host=host, name="web", state="running")


def interface_url(vm, slug="interface-attach") -> str:
    return f"/vms/{vm.uuid}/interfaces/{slug}/"


def test_vm_page_lists_cards_and_offers_only_usable_networks(client_for, member, host, team, red, vm):
    lab = make_network(host, team, name="lab", subnet="10.213.1.0/24")
    spare = make_network(host, team, name="spare", subnet="10.213.3.0/24")
    shared = make_network(host, None, name="shared", subnet="10.213.4.0/24")
    theirs = make_network(host, red, name="theirs", subnet="10.213.2.0/24")
    far = make_network(HostFactory(name="far", uri="qemu+tcp://127.0.0.1:1/far"), team, name="far")
    card(vm, lab, "52:54:00:00:03:01", "10.213.1.7")
    page = client_for(member).get(f"/vms/{vm.uuid}/").content.decode()
    assert "52:54:00:00:03:01" in page and "10.213.1.7" in page
    assert interface_url(vm, "interface-detach") in page
    options = re.findall(
        r'<option value="(\d+)">', page.split('aria-label="Network to attach"')[1].split("</select>")[0]
    )
    assert sorted(int(o) for o in options) == sorted([spare.pk, shared.pk])
    assert str(theirs.pk) not in options and str(far.pk) not in options and str(lab.pk) not in options


def test_attach_needs_the_csrf_token(client_for, member, host, team, vm):
    lab = make_network(host, team)
    client = client_for(member)
    response = client.post(interface_url(vm), {"network": lab.pk})
    assert response.status_code == 403
    assert not Job.objects.exists()
    assert not VMInterface.objects.exists()


def test_outsiders_get_404(client_for, outsider, host, team, vm):
    lab = make_network(host, team)
    response = csrf_post(client_for(outsider), interface_url(vm), {"network": lab.pk}, htmx=True)
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_viewers_get_403(client_for, viewer, host, team, vm):
    lab = make_network(host, team)
    response = csrf_post(client_for(viewer), interface_url(vm), {"network": lab.pk}, htmx=True)
    assert response.status_code == 403
    assert not Job.objects.exists()
    assert not VMInterface.objects.exists()


@pytest.mark.parametrize("which", ["other-team", "unknown", "not-a-number", "missing", "building"])
def test_a_bad_network_is_an_error_shown_and_nothing_is_queued(client_for, member, host, team, red, vm, which):
    theirs = make_network(host, red, name="theirs", subnet="10.213.2.0/24")
    building = make_network(host, team, name="new", subnet="10.213.3.0/24", state=NetworkState.BUILDING)
    data = {
        "other-team": {"network": theirs.pk},
        "unknown": {"network": 999999},
        "not-a-number": {"network": "1 OR 1=1"},
        "missing": {},
        "building": {"network": building.pk},
    }[which]
    client = client_for(member)
    response = csrf_post(client, interface_url(vm), data, htmx=True)
    assert response.status_code == 200
    assert "Pick a network this VM may use." in text(response)
    assert response["HX-Trigger"] == "vm-changed"
    response = csrf_post(client, interface_url(vm), data, follow=True)
    assert response.redirect_chain[-1][0] == f"/vms/{vm.uuid}/"
    assert "Pick a network this VM may use." in text(response)
    assert not Job.objects.exists()
    assert not VMInterface.objects.exists()


def test_a_network_on_another_host_is_refused_with_the_reason(client_for, member, team, vm):
    far = make_network(HostFactory(name="far", uri="qemu+tcp://127.0.0.1:1/far"), team, name="far")
    response = csrf_post(client_for(member), interface_url(vm), {"network": far.pk}, htmx=True)
    assert response.status_code == 200
    assert "blue/far is on host far, not on the VM's host." in text(response)
    assert not Job.objects.exists()


def test_member_attaches_and_the_fragment_follows_the_job(client_for, member, host, team, vm):
    lab = make_network(host, team)
    response = csrf_post(client_for(member), interface_url(vm), {"network": lab.pk}, htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "vm-changed"
    (job,) = Job.objects.all()
    assert job.action == VMJobAction.VM_INTERFACE_ATTACH
    new_card = VMInterface.objects.get(vm=vm)
    assert job.params == {"network_id": lab.pk, "mac": new_card.mac}
    assert "being attached" in text(response)


# --- network actions from the networks page ---


def action_url(network, slug) -> str:
    return f"/networks/vm/{network.pk}/actions/{slug}/"


def test_network_actions_need_login_and_csrf(client, client_for, team_admin, host, team):
    lab = make_network(host, team)
    assert client.post(action_url(lab, "stop"))["Location"].startswith("/accounts/login/")
    assert client_for(team_admin).post(action_url(lab, "stop")).status_code == 403
    assert not Job.objects.exists()


def test_outsiders_get_404_for_a_teams_network(client_for, outsider, host, team):
    lab = make_network(host, team)
    assert csrf_post(client_for(outsider), action_url(lab, "stop")).status_code == 404
    assert not Job.objects.exists()


def test_shared_networks_are_not_run_from_the_networks_page(client_for, team_admin, host):
    shared = make_network(host, None, name="shared")
    assert csrf_post(client_for(team_admin), action_url(shared, "stop")).status_code == 404


def test_members_get_403_for_network_actions(client_for, member, host, team):
    lab = make_network(host, team)
    assert csrf_post(client_for(member), action_url(lab, "stop")).status_code == 403
    assert not Job.objects.exists()


def test_team_admin_stops_a_network_from_the_page(client_for, team_admin, host, team):
    lab = make_network(host, team)
    response = csrf_post(client_for(team_admin), action_url(lab, "stop"), follow=True)
    assert response.redirect_chain[-1][0] == "/networks/"
    assert "blue/lab: stop queued." in text(response)
    (job,) = Job.objects.all()
    assert job.action == NetworkJobAction.NETWORK_STOP


def test_delete_from_the_page_is_refused_while_cards_exist(client_for, team_admin, host, team, vm):
    lab = make_network(host, team)
    card(vm, lab, "52:54:00:00:04:01")
    response = csrf_post(client_for(team_admin), action_url(lab, "delete"), follow=True)
    assert "VMs still have network cards on this network; detach them first." in text(response)
    assert not Job.objects.exists()


# --- the host page ---


def test_host_page_shows_the_hosts_topology_to_staff(client_for, staff, scene, host):
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    assert response.status_code == 200
    (svg,) = [s for s in svgs(response) if s.get("class") == "topology"]
    labels = texts(svg)
    for expected in ("shared (shared)", "blue/lab", "red/secret", "blue/web", "red/db"):
        assert expected in labels, (expected, labels)
    assert "52:54:00:00:02:01 10.213.2.20" in labels
    assert svg.findtext(f"{SVG}title") == "3 networks, 2 machines, 4 connections"


def test_host_page_is_for_staff_only(client_for, member, team_admin, host):
    assert client_for(member).get(f"/hosts/{host.pk}/").status_code == 403
    assert client_for(team_admin).get(f"/hosts/{host.pk}/").status_code == 403


def test_host_page_of_a_host_without_networks(client_for, staff, host):
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    (svg,) = [s for s in svgs(response) if s.get("class") == "topology"]
    assert svg.findtext(f"{SVG}title") == "0 networks, 0 machines, 0 connections"


def test_bridged_networks_show_their_bridge(client_for, staff, host):
    make_network(host, None, name="lan", subnet="", kind=NetworkKind.BRIDGED, bridge="br0")
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    (svg,) = [s for s in svgs(response) if s.get("class") == "topology"]
    assert any("br0" in label for label in texts(svg))
