"""Container networks on the real local Docker engine: asked for, approved, built, joined, left and removed.

Checked through the engine (``docker network inspect``, ``docker inspect``), not only through the rows. Every
network and container a test makes is named ``<team slug>.<name>`` and removed afterwards, whatever happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from containers.choices import ContainerJobAction, ContainerKind, ContainerNetworkJobAction
from containers.containers.services import container_network_request
from containers.models import Container, DockerNetwork
from containers.networks.operations import docker_network_operate
from containers.networks.provisioning import docker_network_provision
from containers.networks.services import docker_network_delete_request
from hypervisors.models import VirtualNetwork
from portal.choices import JobState, RequestState, Role
from portal.jobs import job_create
from portal.models import Job, ResourceRequest, Team
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_submit
from tests.factories import HostFactory, MembershipFactory, TeamFactory, UserFactory
from tests.support import docker_engine as eng
from tests.support.pages import csrf_post, text
from tests.support.rows import usage_of

pytestmark = pytest.mark.django_db

NEW = "/networks/containers/new/"


def engine_networks_remove(prefix: str) -> None:
    """Remove the containers, then the networks, whose engine names start with ``prefix``."""
    eng.containers_remove(prefix)
    client = eng.docker_client()
    try:
        for network in client.networks.list():
            if network.name.startswith(prefix):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
    finally:
        client.close()


def engine_network(name: str) -> dict | None:
    """``docker network inspect`` of a network by name, through the SDK's usual entry point; None if absent."""
    client = docker.from_env()
    try:
        return client.networks.get(name).attrs
    except docker.errors.NotFound:
        return None
    finally:
        client.close()


def attached_networks(container: Container) -> set[str]:
    return set(eng.inspect(container.engine_name)["NetworkSettings"]["Networks"])


def network_jobs(container: Container) -> list[Job]:
    return list(
        Job.objects.filter(
            target_type__model="container",
            target_id=str(container.pk),
            action__in=[ContainerJobAction.CONTAINER_NETWORK_CONNECT, ContainerJobAction.CONTAINER_NETWORK_DISCONNECT],
        )
    )


@pytest.fixture
def other_team(db) -> Iterator[Team]:
    """A second team on the same engine, with a unique slug."""
    eng.require_engine()
    slug = eng.unique("cn")
    team = TeamFactory(name=slug, slug=slug)
    team.quota.network_count = 2
    team.quota.save()
    try:
        yield team
    finally:
        engine_networks_remove(f"{slug}.")


@pytest.fixture
def cleanup(engine_team, other_team) -> Iterator[None]:
    """Whatever happens, the teams' containers and networks leave the engine."""
    try:
        yield
    finally:
        engine_networks_remove(f"{engine_team.slug}.")
        engine_networks_remove(f"{other_team.slug}.")


@pytest.fixture
def quota(engine_team) -> Team:
    engine_team.quota.network_count = 2
    engine_team.quota.save()
    return engine_team


@pytest.fixture
def engine_admin(engine_team):
    user = UserFactory(username=f"admin-{engine_team.slug}")
    MembershipFactory(user=user, team=engine_team, role=Role.TEAM_ADMIN)
    return user


@pytest.fixture
def other_member(other_team):
    user = UserFactory(username=f"member-{other_team.slug}")
    MembershipFactory(user=user, team=other_team, role=Role.TEAM_ADMIN)
    return user


@pytest.fixture
def make_network(staff, local_engine, cleanup, sent):
    """Ask for a container network as a member, approve it, and run its provisioning job here."""

    def make(team: Team, member, name: str = "apps") -> DockerNetwork:
        request = request_submit(
            actor=member, team=team, kind=ContainerKind.CONTAINER_NETWORK, name=name, vcpus=0, memory_mib=0,
            disk_gib=0, justification="tests", spec={"docker_host_id": local_engine.pk},
        )  # fmt: skip
        job = request_approve(actor=staff, request_id=request.pk)
        docker_network_provision(job_id=job.pk)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED, f"{job.error}\n{job.log}"
        return DockerNetwork.objects.select_related("team", "docker_host").get(request=request)

    return make


def operate(job: Job) -> Job:
    docker_network_operate(job_id=job.pk)
    job.refresh_from_db()
    return job


# --- asking, approving, building ---


def test_a_network_asked_on_the_page_is_built_on_the_engine(
    client_for, engine_member, quota, staff, local_engine, cleanup, sent
):
    client = client_for(engine_member)
    assert client.get(NEW).status_code == 200
    response = csrf_post(
        client,
        NEW,
        {"name": "apps", "team": quota.pk, "docker_host": local_engine.pk, "justification": "tests"},
    )
    assert response.status_code == 302, text(response)[-3000:]
    request = ResourceRequest.objects.get(team=quota, name="apps")
    assert (request.kind, request.state) == (ContainerKind.CONTAINER_NETWORK, RequestState.PENDING)
    assert request.spec == {"docker_host_id": local_engine.pk}
    assert usage_of(quota).pending.network_count == 1

    job = request_approve(actor=staff, request_id=request.pk)
    network = DockerNetwork.objects.get(request=request)
    assert network.state == "building"
    assert engine_network(network.engine_name) is None

    docker_network_provision(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    network.refresh_from_db()
    assert network.state == "active"
    found = engine_network(f"{quota.slug}.apps")
    assert found is not None
    assert found["Id"] == network.engine_id
    assert found["Driver"] == "bridge"
    assert found["Labels"] == {"portal.team": quota.slug, "portal.name": "apps"}
    assert network.subnet and network.subnet == found["IPAM"]["Config"][0]["Subnet"]
    usage = usage_of(quota)
    assert (usage.used.network_count, usage.reserved.network_count, usage.pending.network_count) == (1, 0, 0)


def test_building_twice_finds_the_network_already_there(make_network, engine_team, engine_member, quota):
    network = make_network(engine_team, engine_member)
    from containers.engines.services import engine_of

    with engine_of(network.docker_host) as engine:
        again = engine.network_create(name=network.engine_name, labels={})
    assert again.engine_id == network.engine_id


def test_the_network_quota_is_shared_with_vm_networks(client_for, engine_member, engine_team, local_engine, cleanup):
    engine_team.quota.network_count = 1
    engine_team.quota.save()
    host = HostFactory(name="h", uri="qemu+tcp://127.0.0.1:1/h")
    VirtualNetwork.objects.create(host=host, team=engine_team, name="vmnet", subnet="10.213.0.0/24", state="active")
    response = csrf_post(
        client_for(engine_member),
        NEW,
        {"name": "apps", "team": engine_team.pk, "docker_host": local_engine.pk, "justification": "tests"},
    )
    assert response.status_code == 400
    assert "Networks: over quota by 1 (asked 1, 0 left)" in text(response)
    assert not ResourceRequest.objects.filter(kind=ContainerKind.CONTAINER_NETWORK).exists()


# --- connecting and disconnecting containers ---


def test_connect_and_disconnect_a_team_container(make_network, build, engine_team, engine_member, quota):
    network = make_network(engine_team, engine_member)
    container = build("web")
    assert network.engine_name not in attached_networks(container)

    job = container_network_request(
        actor=engine_member, container_id=container.pk, network_id=network.pk, slug="connect"
    )
    assert (job.action, job.params) == (ContainerJobAction.CONTAINER_NETWORK_CONNECT, {"network_id": network.pk})
    assert operate(job).state == JobState.SUCCEEDED, job.error
    assert network.engine_name in attached_networks(container)
    assert list(network.containers.all()) == [container]
    attached = engine_network(network.engine_name)["Containers"]
    assert container.engine_id in attached

    with pytest.raises(ValidationError, match="already on"):
        container_network_request(actor=engine_member, container_id=container.pk, network_id=network.pk, slug="connect")

    job = container_network_request(
        actor=engine_member, container_id=container.pk, network_id=network.pk, slug="disconnect"
    )
    assert operate(job).state == JobState.SUCCEEDED, job.error
    assert network.engine_name not in attached_networks(container)
    assert not network.containers.exists()
    assert not engine_network(network.engine_name)["Containers"]

    with pytest.raises(ValidationError, match="is not on"):
        container_network_request(
            actor=engine_member, container_id=container.pk, network_id=network.pk, slug="disconnect"
        )


def test_connect_through_the_page(client_for, make_network, build, engine_team, engine_member, quota):
    network = make_network(engine_team, engine_member)
    container = build("web")
    response = csrf_post(
        client_for(engine_member), f"/containers/{container.pk}/networks/connect/", {"network": network.pk}, htmx=True
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "container-changed"
    (job,) = network_jobs(container)
    assert operate(job).state == JobState.SUCCEEDED, job.error
    assert network.engine_name in attached_networks(container)


def test_viewers_may_not_connect(make_network, build, engine_team, engine_member, engine_viewer, quota):
    network = make_network(engine_team, engine_member)
    container = build("web")
    with pytest.raises(PermissionDenied):
        container_network_request(actor=engine_viewer, container_id=container.pk, network_id=network.pk, slug="connect")
    assert network_jobs(container) == []


def test_a_container_cannot_join_another_teams_network(
    client_for, make_network, build, engine_team, engine_member, quota, other_team, other_member
):
    theirs = make_network(other_team, other_member, name="private")
    container = build("web")

    with pytest.raises(ValidationError) as refused:
        container_network_request(actor=engine_member, container_id=container.pk, network_id=theirs.pk, slug="connect")
    assert refused.value.message_dict == {"network": ["A container may only join an active network of its own team."]}

    # A hand-made POST with the other team's network id, plain and through htmx.
    client = client_for(engine_member)
    url = f"/containers/{container.pk}/networks/connect/"
    response = csrf_post(client, url, {"network": theirs.pk}, follow=True)
    assert response.redirect_chain[-1][0] == f"/containers/{container.pk}/"
    assert "A container may only join an active network of its own team." in text(response)
    response = csrf_post(client, url, {"network": theirs.pk}, htmx=True)
    assert "A container may only join an active network of its own team." in text(response)

    # The other team cannot even see the container.
    response = csrf_post(client_for(other_member), url, {"network": theirs.pk})
    assert response.status_code == 404

    assert network_jobs(container) == []
    assert not theirs.containers.exists()
    assert theirs.engine_name not in attached_networks(container)
    assert not engine_network(theirs.engine_name)["Containers"]


def test_the_worker_checks_the_team_again(
    make_network, build, engine_team, engine_member, quota, other_team, other_member
):
    """A job forged past the service (or a network moved since) is refused where the change is made."""
    theirs = make_network(other_team, other_member, name="private")
    container = build("web")
    job = job_create(
        action=ContainerJobAction.CONTAINER_NETWORK_CONNECT, team=engine_team, requested_by=engine_member,
        target=container, params={"network_id": theirs.pk},
    )  # fmt: skip
    job = operate(job)
    assert job.state == JobState.FAILED
    assert "own team" in job.error
    assert theirs.engine_name not in attached_networks(container)
    assert not theirs.containers.exists()


# --- removing networks ---


def test_a_network_with_containers_on_it_cannot_be_deleted(
    client_for, make_network, build, engine_team, engine_member, engine_admin, quota
):
    network = make_network(engine_team, engine_member)
    container = build("web")
    assert (
        operate(
            container_network_request(
                actor=engine_member, container_id=container.pk, network_id=network.pk, slug="connect"
            )
        ).state
        == JobState.SUCCEEDED
    )
    with pytest.raises(ValidationError) as refused:
        docker_network_delete_request(actor=engine_admin, network_id=network.pk)
    assert refused.value.messages == ["Containers are still on this network; disconnect them first."]
    response = csrf_post(client_for(engine_admin), f"/networks/containers/{network.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/networks/"
    assert "Containers are still on this network; disconnect them first." in text(response)
    assert not Job.objects.filter(action=ContainerNetworkJobAction.CONTAINER_NETWORK_DELETE).exists()
    assert engine_network(network.engine_name) is not None


def test_members_may_not_delete_networks(client_for, make_network, engine_team, engine_member, quota):
    network = make_network(engine_team, engine_member)
    with pytest.raises(PermissionDenied):
        docker_network_delete_request(actor=engine_member, network_id=network.pk)
    assert csrf_post(client_for(engine_member), f"/networks/containers/{network.pk}/delete/").status_code == 403
    assert engine_network(network.engine_name) is not None


def test_other_teams_get_404_when_deleting(client_for, make_network, engine_team, engine_member, quota, other_member):
    network = make_network(engine_team, engine_member)
    assert csrf_post(client_for(other_member), f"/networks/containers/{network.pk}/delete/").status_code == 404
    assert engine_network(network.engine_name) is not None


def test_delete_removes_the_network_from_the_engine_and_frees_the_quota(
    client_for, make_network, engine_team, engine_member, engine_admin, quota
):
    network = make_network(engine_team, engine_member)
    assert usage_of(quota).used.network_count == 1
    response = csrf_post(client_for(engine_admin), f"/networks/containers/{network.pk}/delete/", follow=True)
    assert f"{network}: removal queued." in text(response)
    (job,) = Job.objects.filter(action=ContainerNetworkJobAction.CONTAINER_NETWORK_DELETE)
    assert operate(job).state == JobState.SUCCEEDED, job.error
    assert engine_network(network.engine_name) is None
    assert not DockerNetwork.objects.filter(pk=network.pk).exists()
    assert usage_of(quota).used.network_count == 0
    # Run again (a redelivered task): removing what is gone is success.
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    assert operate(job).state == JobState.SUCCEEDED


# --- rows only, no engine ---


def test_deleting_a_network_being_built_is_refused_clearly(docker_host, team, team_admin):
    network = DockerNetwork.objects.create(team=team, docker_host=docker_host, name="new", state="building")
    with pytest.raises(ValidationError, match="cannot be asked to delete"):
        docker_network_delete_request(actor=team_admin, network_id=network.pk)


def test_without_a_network_quota_no_container_network_may_be_asked(docker_host, team, member):
    with pytest.raises(QuotaExceeded) as refused:
        request_submit(
            actor=member, team=team, kind=ContainerKind.CONTAINER_NETWORK, name="apps", vcpus=0, memory_mib=0,
            disk_gib=0, justification="x", spec={"docker_host_id": docker_host.pk},
        )  # fmt: skip
    assert str(refused.value.shortfalls[0]).startswith("Networks: over quota by 1")
