"""The access matrix of every container and container network endpoint, as the pages answer it."""

import pytest

from portal.choices import Role
from portal.models import Job
from tests.factories import (
    ContainerFactory,
    ContainerStatSampleFactory,
    DockerNetworkFactory,
    MembershipFactory,
    TeamFactory,
)
from tests.support.api import errors_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(team, docker_host, busybox_row):
    container = ContainerFactory(team=team, docker_host=docker_host, image=busybox_row, name="web")
    network = DockerNetworkFactory(team=team, docker_host=docker_host, name="lan")
    empty = DockerNetworkFactory(team=team, docker_host=docker_host, name="spare")
    return {"container": container, "network": network, "empty": empty}


READS = ["/api/v1/containers/{container}/", "/api/v1/container-networks/{network}/"]
WRITES = [
    ("/api/v1/containers/{container}/actions/restart/", {}),
    ("/api/v1/containers/{container}/networks/connect/", {"network": "network"}),
    ("/api/v1/container-networks/{empty}/actions/delete/", {}),
    ("/api/v1/containers/{container}/actions/remove/", {}),
]


def url(template, rows):
    return template.format(container=rows["container"].pk, network=rows["network"].pk, empty=rows["empty"].pk)


def body(data, rows):
    return {key: rows[value].pk for key, value in data.items()}


@pytest.mark.parametrize("path", READS)
def test_reads(path, rows, viewer, outsider, team_admin, token_client):
    assert token_client(outsider).get(url(path, rows)).status_code == 404
    assert token_client(viewer).get(url(path, rows)).status_code == 200
    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=team_admin, team=green, role=Role.TEAM_ADMIN)
    assert token_client(team_admin, teams=[green]).get(url(path, rows)).status_code == 404


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_writes(path, data, rows, viewer, outsider, team_admin, token_client):
    def post(client):
        return client.post(url(path, rows), body(data, rows), format="json")

    assert post(token_client(outsider)).status_code == 404
    assert post(token_client(viewer)).status_code == 403
    assert post(token_client(team_admin, read_only=True)).status_code == 403
    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=team_admin, team=green, role=Role.TEAM_ADMIN)
    assert post(token_client(team_admin, teams=[green])).status_code == 404
    assert not Job.objects.exists()
    response = post(token_client(team_admin))
    assert response.status_code == 202, response.json()
    assert response["Location"] == f"/api/v1/jobs/{Job.objects.get().pk}/"


def test_members_cannot_remove_a_network(rows, member, token_client):
    response = token_client(member).post(url("/api/v1/container-networks/{empty}/actions/delete/", rows))
    assert response.status_code == 403


def test_another_team_s_network_cannot_be_joined(rows, member, red, docker_host, token_client):
    theirs = DockerNetworkFactory(team=red, docker_host=docker_host)
    response = token_client(member).post(
        url("/api/v1/containers/{container}/networks/connect/", rows), {"network": theirs.pk}, format="json"
    )
    assert response.status_code == 400 and set(errors_of(response)) == {"network"}
    assert not Job.objects.exists()


def test_lists_are_scoped_and_filtered(rows, member, outsider, red, docker_host, busybox_row, token_client):
    ContainerFactory(team=red, docker_host=docker_host, image=busybox_row, name="theirs", state="exited")
    client = token_client(member)
    assert [c["name"] for c in client.get("/api/v1/containers/").json()["results"]] == ["web"]
    assert client.get("/api/v1/containers/?state=exited").json()["results"] == []
    assert [c["name"] for c in token_client(outsider).get("/api/v1/containers/").json()["results"]] == ["theirs"]
    names = [n["name"] for n in client.get("/api/v1/container-networks/").json()["results"]]
    assert sorted(names) == ["lan", "spare"]


def test_environment_values_are_never_shown(team, docker_host, busybox_row, member, token_client):
    container = ContainerFactory(
        team=team, docker_host=docker_host, image=busybox_row, environment={"PASSWORD": "sealed:xyz"}
    )
    body = token_client(member).get(f"/api/v1/containers/{container.pk}/").json()
    assert body["environment"] == ["PASSWORD"]


def test_images_offered_to_the_user_s_teams(busybox_row, member, outsider, token_client):
    listed = token_client(member).get("/api/v1/container-images/").json()["results"]
    assert [i["reference"] for i in listed] == ["portal/busybox:latest"]
    assert token_client(outsider).get("/api/v1/container-images/").json()["results"] == []


def test_load_samples_for_graphs(team, docker_host, busybox_row, member, outsider, token_client):
    container = ContainerFactory(team=team, docker_host=docker_host, image=busybox_row)
    ContainerStatSampleFactory(container=container, cpu_percent=12.5)
    samples = token_client(member).get(f"/api/v1/containers/{container.pk}/samples/").json()
    assert [s["cpu_percent"] for s in samples] == [12.5]
    assert token_client(outsider).get(f"/api/v1/containers/{container.pk}/samples/").status_code == 404
    assert token_client(member).get(f"/api/v1/containers/{container.pk}/samples/?since=soon").status_code == 400
