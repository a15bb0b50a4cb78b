"""Asking for containers and container networks through JSON: the form's allowlist, nothing stored on refusal."""

import pytest

from containers.choices import ContainerKind
from portal.models import ResourceRequest
from tests.support.api import errors_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ask(team, busybox_row):
    return {
        "name": "web", "team": team.pk, "image": busybox_row.pk, "command": "httpd -f -p 8080",
        "environment": "GREETING=hello", "ports": "18080:8080", "cpus": "0.5", "memory_mib": 64,
        "restart_policy": "no", "justification": "a web server",
    }  # fmt: skip


def post(client, data, path="/api/v1/containers/"):
    return client.post(path, data, format="json")


def test_a_member_asks_for_a_container_and_its_environment_is_sealed(member, ask, token_client):
    response = post(token_client(member), ask)
    assert response.status_code == 201, response.json()
    request = ResourceRequest.objects.get()
    assert request.kind == ContainerKind.CONTAINER
    assert request.spec["environment"]["GREETING"] != "hello"
    assert response.json()["spec"]["environment"] == ["GREETING"]


@pytest.mark.parametrize(
    "extra",
    [{"privileged": True}, {"volumes": ["/:/host"]}, {"network_mode": "host"}, {"cap_add": ["ALL"]},
     {"pid_mode": "host"}, {"devices": ["/dev/kvm"]}, {"user": "root"}],
    ids=lambda extra: next(iter(extra)),
)  # fmt: skip
def test_options_the_form_does_not_offer_are_refused(member, ask, extra, token_client):
    response = post(token_client(member), {**ask, **extra})
    assert response.status_code == 400
    assert errors_of(response) == {
        "non_field_errors": [f"These options cannot be asked for here: {next(iter(extra))}."]
    }
    assert not ResourceRequest.objects.exists()


BAD = [
    ("name", "Web"), ("name", "a" * 64), ("name", {"x": 1}), ("ports", "80:80"), ("ports", "99999:80"),
    ("ports", "18080:8080\n18080:8080"), ("ports", ["18080:8080"]), ("environment", "1BAD=x"),
    ("environment", "A=1\nA=2"), ("command", "sh -c 'unterminated"), ("cpus", "0"), ("cpus", "65"),
    ("cpus", "lots"), ("memory_mib", 1), ("memory_mib", 10**9), ("restart_policy", "always-and-forever"),
    ("image", 999999), ("team", 999999),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), BAD, ids=lambda value: repr(value)[:20])
def test_bad_values_are_400_on_their_field(member, ask, field, value, token_client):
    response = post(token_client(member), {**ask, field: value})
    assert response.status_code == 400
    assert set(errors_of(response)) == {field}
    assert not ResourceRequest.objects.exists()


def test_over_quota_is_reported_on_the_cpus_field(member, ask, token_client):
    response = post(token_client(member), {**ask, "cpus": "9"})
    assert response.status_code == 400 and list(errors_of(response)) == ["cpus"]


def test_preview(member, ask, token_client):
    body = token_client(member).post("/api/v1/containers/preview/", ask, format="json").json()
    assert body["fits"] is True
    assert not ResourceRequest.objects.exists()


def test_a_team_asks_for_a_container_network(member, team, docker_host, token_client):
    team.quota.network_count = 1
    team.quota.save()
    data = {"name": "lan", "team": team.pk, "docker_host": docker_host.pk, "justification": "ci"}
    response = post(token_client(member), data, "/api/v1/container-networks/")
    assert response.status_code == 201, response.json()
    assert ResourceRequest.objects.get().kind == ContainerKind.CONTAINER_NETWORK
    bad = post(token_client(member), {**data, "name": "lan2", "driver": "macvlan"}, "/api/v1/container-networks/")
    assert bad.status_code == 400
