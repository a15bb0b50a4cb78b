"""Teams apart on the real stack: two teams' containers on the local Docker engine and two teams' VMs on
``qemu:///system``, built by a real Celery worker.

Checked through the engine and libvirt (``docker inspect``, domain XML, the host's filter bindings). The only
traffic sent goes between containers this test created, from inside one of them (``docker exec``); nothing
is sent from the host to a guest's or a container's private address.
"""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal

import libvirt
import pytest

from containers.choices import ContainerKind
from containers.models import Container, ContainerImage, DockerHost, DockerNetwork
from hypervisors.choices import HypervisorKind, NetworkState
from hypervisors.models import VirtualMachine, VirtualNetwork
from portal.choices import JobState, Role
from portal.models import Job, Team
from portal.services import request_approve, request_submit
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.support import docker_engine as eng
from tests.support.processes import job_wait
from tests.support.qemu import domain_remove, networks_remove, virsh

pytestmark = [pytest.mark.integration]

#: Seconds the worker may take to build a container, or a VM under software emulation on a busy machine.
CONTAINER_TIMEOUT = 90
VM_TIMEOUT = 240
#: Seconds a connect from one container to another may take before it counts as refused.
CONNECT_SECONDS = 2


@pytest.fixture
def other_team(transactional_db) -> Iterator[Team]:
    """A second team with a unique slug; its containers, networks and domains leave the host afterwards."""
    slug = f"it{uuid.uuid4().hex[:8]}"
    team = TeamFactory(name=slug, slug=slug)
    team.quota.vcpus, team.quota.memory_mib = Decimal("4"), 1024
    team.quota.save()
    try:
        yield team
    finally:
        eng.containers_remove(f"{slug}.")
        eng.networks_remove(f"{slug}.")
        conn = libvirt.open("qemu:///system")
        try:
            for domain in conn.listAllDomains(0):
                if domain.name().startswith(f"{slug}."):
                    domain_remove(conn, domain)
            networks_remove(conn, f"{slug}.")
        finally:
            conn.close()


@pytest.fixture
def admin(transactional_db):
    return UserFactory(username=f"root-{uuid.uuid4().hex[:6]}", is_staff=True, is_superuser=True)


def member_of(team: Team):
    """A member of the team (made on first use)."""
    membership = team.memberships.select_related("user").first()
    if membership is not None:
        return membership.user
    user = UserFactory(username=f"member-{team.slug}")
    MembershipFactory(user=user, team=team, role=Role.MEMBER)
    return user


def ask_and_approve(admin, team: Team, kind: str, name: str, *, vcpus, memory_mib, disk_gib, spec) -> Job:
    """Ask as a member of the team and approve as staff: the job goes to the real worker after commit."""
    request = request_submit(
        actor=member_of(team), team=team, kind=kind, name=name, vcpus=vcpus, memory_mib=memory_mib,
        disk_gib=disk_gib, justification="isolation test", spec=spec,
    )  # fmt: skip
    return request_approve(actor=admin, request_id=request.pk)


def built(job: Job, timeout: float, worker) -> Job:
    job = job_wait(job.pk, timeout, f"job {job.pk}")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{job.log}\n{worker.log()}"
    return job


# --- containers ---


@pytest.fixture
def local_engine(transactional_db, live_team, other_team) -> Iterator[DockerHost]:
    for docker_host in eng.local_engine_for(live_team):
        ContainerImage.objects.get(docker_host=docker_host).offered_to.add(other_team)
        yield docker_host


def container_job(admin, team: Team, docker_host: DockerHost, name: str, command: str, ports=()) -> Job:
    image = ContainerImage.objects.get(docker_host=docker_host)
    spec = {
        "image_id": image.pk, "image": image.reference, "docker_host_id": docker_host.pk,
        "command": command.split(), "environment": {}, "restart_policy": "no",
        "ports": [{"host_port": port, "container_port": 8080, "protocol": "tcp"} for port in ports],
    }  # fmt: skip
    return ask_and_approve(
        admin, team, ContainerKind.CONTAINER, name, vcpus=Decimal("0.2"), memory_mib=32, disk_gib=0, spec=spec
    )


def networks_of(container: Container) -> dict[str, dict]:
    return eng.inspect(container.engine_id)["NetworkSettings"]["Networks"]


def connects(source: Container, address: str, port: int = 8080) -> bool:
    """Whether a TCP connect from inside ``source`` to ``address:port`` succeeds (busybox nc, bounded)."""
    done = subprocess.run(
        ["docker", "exec", source.engine_id, "nc", "-w", str(CONNECT_SECONDS), address, str(port)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=CONNECT_SECONDS + 20,
    )  # fmt: skip
    return done.returncode == 0


def test_two_teams_containers_share_no_network_and_cannot_connect(
    local_engine, live_team, other_team, admin, celery_worker_process
):
    serve = "httpd -f -p 8080 -h /var/www"
    port = eng.free_port()
    jobs = [
        container_job(admin, live_team, local_engine, "client", "sleep 600"),
        container_job(admin, live_team, local_engine, "peer", serve),
        container_job(admin, other_team, local_engine, "web", serve, ports=[port]),
    ]
    client, peer, web = (
        Container.objects.get(request_id=built(job, CONTAINER_TIMEOUT, celery_worker_process).request_id)
        for job in jobs
    )

    # What the engine says: each team on its own network, none on the shared bridge, nothing in common.
    ours, theirs = networks_of(client), networks_of(web)
    assert set(ours) == set(networks_of(peer)) == {f"{live_team.slug}.team_{local_engine.name}"}
    assert set(theirs) == {f"{other_team.slug}.team_{local_engine.name}"}
    assert not set(ours) & set(theirs)
    assert "bridge" not in {*ours, *theirs}
    for team, container in ((live_team, client), (other_team, web)):
        network = DockerNetwork.objects.get(team=team, is_team_default=True)
        assert container in network.containers.all()
        assert network.engine_id == networks_of(container)[network.engine_name]["NetworkID"]

    # Within a team containers reach each other; across teams a connect fails.
    assert connects(client, networks_of(peer)[next(iter(ours))]["IPAddress"]), "a team's own containers meet"
    assert not connects(client, theirs[next(iter(theirs))]["IPAddress"]), "another team's container is out of reach"

    # Published ports still answer on 127.0.0.1.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        assert eng.INDEX_TEXT in response.read().decode()


# --- VMs ---


def interfaces_of(domain_name: str) -> list[ET.Element]:
    return ET.fromstring(virsh("dumpxml", domain_name).stdout).findall("devices/interface")


def test_two_teams_vms_sit_on_their_own_networks_behind_the_clean_traffic_filter(
    qemu_host, guest_image, live_team, other_team, admin, celery_worker_process
):
    assert "clean-traffic" in virsh("nwfilter-list").stdout, "libvirt ships the filter on this host"
    spec = {"image_id": guest_image.pk}
    jobs = [
        ask_and_approve(admin, team, HypervisorKind.VM, "vm", vcpus=1, memory_mib=64, disk_gib=1, spec=spec)
        for team in (live_team, other_team)
    ]
    vms = [
        VirtualMachine.objects.get(request_id=built(job, VM_TIMEOUT, celery_worker_process).request_id) for job in jobs
    ]

    networks = []
    for team, vm in zip((live_team, other_team), vms, strict=True):
        network = VirtualNetwork.objects.get(team=team, host=qemu_host, is_team_default=True)
        assert network.state == NetworkState.ACTIVE
        (interface,) = interfaces_of(vm.domain_name)
        assert interface.find("source").get("network") == network.libvirt_name != "default"
        assert interface.find("filterref").get("filter") == "clean-traffic"
        # libvirt applies the filter to the guest's port on the host, not only in the XML.
        device = interface.find("target").get("dev")
        assert device in virsh("nwfilter-binding-list").stdout
        info = virsh("net-dumpxml", network.libvirt_name).stdout
        assert ET.fromstring(info).find("forward").get("mode") == "nat"
        networks.append(network)
    assert networks[0].libvirt_name != networks[1].libvirt_name
    assert networks[0].subnet != networks[1].subnet
