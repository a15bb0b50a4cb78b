"""The access matrix of every VM and VM network endpoint: the same answers as the pages give.

Another team's objects are 404; viewers and read-only tokens cannot write; a token
restricted to one team cannot reach another; expired or revoked tokens are 401.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.api.models import ApiToken
from portal.api.tokens import token_create, token_revoke
from portal.choices import Role
from portal.models import Job
from tests.factories import (
    HostFactory,
    MembershipFactory,
    SnapshotFactory,
    TeamFactory,
    VirtualMachineFactory,
    VirtualNetworkFactory,
)
from tests.support.api import bearer, errors_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(team):
    host = HostFactory(name="h1")
    vm = VirtualMachineFactory(team=team, host=host, name="web")
    SnapshotFactory(vm=vm, name="before")
    network = VirtualNetworkFactory(team=team, host=host, name="lan")
    spare = VirtualNetworkFactory(team=team, host=host, name="lan2")
    return {"vm": vm, "network": network, "spare": spare}


READS = [
    "/api/v1/vms/{vm}/",
    "/api/v1/vms/{vm}/samples/",
    "/api/v1/vm-networks/{network}/",
]
WRITES = [
    ("/api/v1/vms/{vm}/actions/reboot/", {}),
    ("/api/v1/vms/{vm}/resize/", {"vcpus": 2, "memory_mib": 256}),
    ("/api/v1/vms/{vm}/snapshots/create/", {"name": "s1"}),
    ("/api/v1/vms/{vm}/snapshots/revert/", {"name": "before"}),
    ("/api/v1/vms/{vm}/interfaces/attach/", {"network": "{spare}"}),
    ("/api/v1/vm-networks/{network}/actions/stop/", {}),
    ("/api/v1/vms/{vm}/actions/delete/", {}),
]


def url(template, rows):
    return template.format(vm=rows["vm"].uuid, network=rows["network"].pk, spare=rows["spare"].pk)


def body(data, rows):
    return {k: (int(url(v, rows)) if isinstance(v, str) and v.startswith("{") else v) for k, v in data.items()}


@pytest.mark.parametrize("path", READS)
def test_reads_are_404_for_another_team_and_200_for_viewers(path, rows, viewer, outsider, token_client):
    assert token_client(outsider).get(url(path, rows)).status_code == 404
    assert token_client(viewer).get(url(path, rows)).status_code == 200


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_another_team_gets_404_and_nothing_is_queued(path, data, rows, outsider, token_client):
    response = token_client(outsider).post(url(path, rows), body(data, rows), format="json")
    assert response.status_code == 404
    errors_of(response)
    assert not Job.objects.exists()


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_viewers_cannot_write(path, data, rows, viewer, token_client):
    response = token_client(viewer).post(url(path, rows), body(data, rows), format="json")
    assert response.status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_read_only_tokens_cannot_write(path, data, rows, team_admin, token_client):
    response = token_client(team_admin, read_only=True).post(url(path, rows), body(data, rows), format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    assert not Job.objects.exists()


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_a_token_restricted_to_another_team_cannot_reach_it(path, data, rows, team_admin, token_client):
    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=team_admin, team=green, role=Role.TEAM_ADMIN)
    client = token_client(team_admin, teams=[green])
    assert client.post(url(path, rows), body(data, rows), format="json").status_code == 404
    assert not Job.objects.exists()


@pytest.mark.parametrize("path", READS)
def test_a_token_restricted_to_another_team_cannot_read_it(path, rows, team_admin, token_client):
    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=team_admin, team=green, role=Role.TEAM_ADMIN)
    assert token_client(team_admin, teams=[green]).get(url(path, rows)).status_code == 404


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_team_admins_may_write_and_get_the_job_to_poll(path, data, rows, team_admin, token_client):
    response = token_client(team_admin).post(url(path, rows), body(data, rows), format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get()
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/"
    assert response.json()["state"] == "queued"


@pytest.mark.parametrize("path", [*READS, *(w[0] for w in WRITES)])
def test_expired_and_revoked_tokens_get_401(path, rows, team_admin):
    expired, expired_secret = token_create(actor=team_admin, name="old", expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_secret = token_create(actor=team_admin, name="gone")
    token_revoke(actor=team_admin, token_id=revoked.pk)
    for secret in (expired_secret, revoked_secret):
        client = bearer(secret)
        response = client.get(url(path, rows)) if path in READS else client.post(url(path, rows), {}, format="json")
        assert response.status_code == 401


def test_lists_show_only_the_user_s_teams(rows, outsider, member, token_client):
    VirtualMachineFactory(team=outsider.memberships.get().team, name="theirs")
    assert [vm["name"] for vm in token_client(member).get("/api/v1/vms/").json()["results"]] == ["web"]
    assert [vm["name"] for vm in token_client(outsider).get("/api/v1/vms/").json()["results"]] == ["theirs"]
    names = {n["name"] for n in token_client(outsider).get("/api/v1/vm-networks/").json()["results"]}
    assert names == set()


def test_an_action_the_state_refuses_is_409_with_the_services_message(rows, member, token_client):
    response = token_client(member).post(url("/api/v1/vms/{vm}/actions/start/", rows))
    assert response.status_code == 409
    assert response.json()["detail"] == "A VM that is running cannot be asked to start."
    busy = token_client(member)
    assert busy.post(url("/api/v1/vms/{vm}/actions/reboot/", rows)).status_code == 202
    again = busy.post(url("/api/v1/vms/{vm}/actions/reboot/", rows))
    assert again.status_code == 409 and "still running" in again.json()["detail"]


def test_unknown_actions_are_refused(rows, member, token_client):
    response = token_client(member).post(url("/api/v1/vms/{vm}/actions/explode/", rows))
    assert response.status_code == 409
    assert token_client(member).post(url("/api/v1/vms/{vm}/actions/resize/", rows)).status_code == 409
