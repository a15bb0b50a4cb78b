"""Asking for VMs and VM networks through JSON: the forms' validation, the quota, nothing stored on a refusal."""

import pytest

from hypervisors.choices import HypervisorKind
from hypervisors.vms.forms import MAX_DISK_GIB, MAX_MEMORY_MIB, MAX_VCPUS
from portal.models import AuditEvent, ResourceRequest
from portal.ssh_keys import ssh_key_add
from tests.factories import ImageFactory, UserFactory, VirtualNetworkFactory
from tests.support.api import errors_of
from tests.support.keys import public_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(db):
    return ImageFactory(name="busybox")


@pytest.fixture
def ask(team, image):
    return {"name": "web", "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
            "justification": "ci"}  # fmt: skip


def post(client, data, path="/api/v1/vms/"):
    return client.post(path, data, format="json")


def test_a_member_asks_for_a_vm(member, team, image, ask, token_client):
    response = post(token_client(member), {**ask, "networks": []})
    assert response.status_code == 201, response.json()
    request = ResourceRequest.objects.get()
    assert response["Location"] == f"/api/v1/requests/{request.pk}/"
    assert response.json()["state"] == "pending" and response.json()["kind"] == HypervisorKind.VM
    assert request.spec == {"image_id": image.pk, "image": "busybox", "network_ids": []}
    assert AuditEvent.objects.filter(action="request.submit", actor=member).exists()


BAD_NAMES = ["<script>alert(1)</script>", "it's", "vm-é", "日本", "a" * 64, "", "-web", "Web", "dot.ted",
             "nul\x00byte", "line\nbreak", True, None, ["web"], {"name": "web"}]  # fmt: skip
BAD_SIZES = [
    ("vcpus", 0), ("vcpus", -1), ("vcpus", 10**30), ("vcpus", MAX_VCPUS + 1), ("vcpus", "many"), ("vcpus", 1.5),
    ("vcpus", None), ("vcpus", [1]), ("vcpus", {"n": 1}), ("memory_mib", 31), ("memory_mib", MAX_MEMORY_MIB + 1),
    ("memory_mib", 128.5), ("memory_mib", "lots"), ("disk_gib", 0), ("disk_gib", MAX_DISK_GIB + 1),
    ("disk_gib", "big"), ("team", 999999), ("team", "abc"), ("team", [1]), ("team", None), ("image", 999999),
    ("image", -1), ("image", {"id": 1}), ("networks", "1"), ("networks", [999999]),
    ("networks", [10**20]), ("team", 10**20), ("justification", ""),
    ("justification", "x" * 2001),
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda value: repr(value)[:20])
def test_bad_names_are_400_on_the_name_and_nothing_is_stored(member, ask, name, token_client):
    response = post(token_client(member), {**ask, "name": name})
    assert response.status_code == 400
    assert set(errors_of(response)) == {"name"}
    assert not ResourceRequest.objects.exists()


@pytest.mark.parametrize(("field", "value"), BAD_SIZES, ids=lambda value: repr(value)[:20])
def test_bad_values_are_400_on_their_field(member, ask, field, value, token_client):
    response = post(token_client(member), {**ask, field: value})
    assert response.status_code == 400
    assert set(errors_of(response)) == {field}
    assert not ResourceRequest.objects.exists()


@pytest.mark.parametrize("extra", [{"privileged": True}, {"host": 1}, {"owner": 1}, {"state": "running"}])
def test_fields_the_form_does_not_declare_are_refused(member, ask, extra, token_client):
    response = post(token_client(member), {**ask, **extra})
    assert response.status_code == 400
    message = errors_of(response)["non_field_errors"][0]
    assert message == f"These options cannot be asked for here: {next(iter(extra))}."
    assert not ResourceRequest.objects.exists()


@pytest.mark.parametrize("payload", [[1, 2], "web", 3])
def test_the_body_must_be_an_object(member, payload, token_client):
    response = post(token_client(member), payload)
    assert response.status_code == 400
    assert errors_of(response) == {"non_field_errors": ["Send a JSON object."]}


def test_malformed_json_is_400_in_the_same_shape(member, token_client):
    response = token_client(member).post("/api/v1/vms/", "{nope", content_type="application/json")
    assert response.status_code == 400
    errors_of(response)


def test_a_viewer_cannot_pick_the_team_as_on_the_page(viewer, ask, token_client):
    response = post(token_client(viewer), ask)
    assert response.status_code == 400 and set(errors_of(response)) == {"team"}


def test_another_team_s_network_is_refused(member, ask, red, token_client):
    theirs = VirtualNetworkFactory(team=red)
    response = post(token_client(member), {**ask, "networks": [theirs.pk]})
    assert response.status_code == 400 and set(errors_of(response)) == {"networks"}


def test_over_quota_is_400_on_the_field_with_the_page_s_message(member, ask, token_client):
    response = post(token_client(member), {**ask, "vcpus": 9})
    assert response.status_code == 400
    assert errors_of(response)["vcpus"] == ["vCPUs: over quota by 1 (asked 9, 8 left)"]
    assert not ResourceRequest.objects.exists()


def test_a_name_already_asked_for_is_refused(member, ask, token_client):
    client = token_client(member)
    assert post(client, ask).status_code == 201
    response = post(client, ask)
    assert response.status_code == 400 and "name" in errors_of(response)
    assert ResourceRequest.objects.count() == 1


def test_preview_shows_the_quota_after_the_ask_and_stores_nothing(member, team, ask, token_client):
    client = token_client(member)
    fits = client.post("/api/v1/vms/preview/", ask, format="json").json()
    assert fits["fits"] is True and fits["team"] == team.pk and fits["errors"] == {}
    vcpus = next(row for row in fits["quota"] if row["resource"] == "vcpus")
    assert (vcpus["limit"], vcpus["asked"], vcpus["free"]) == (8, 1, 8)
    over = client.post("/api/v1/vms/preview/", {**ask, "vcpus": 9}, format="json").json()
    assert over["fits"] is False and over["shortfalls"] == ["vCPUs: over quota by 1 (asked 9, 8 left)"]
    assert not ResourceRequest.objects.exists()


def test_a_token_restricted_to_another_team_cannot_ask_for_this_one(member, team, ask, token_client):
    from portal.choices import Role
    from tests.factories import MembershipFactory, TeamFactory

    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=member, team=green, role=Role.MEMBER)
    response = post(token_client(member, teams=[green]), ask)
    assert response.status_code == 400 and set(errors_of(response)) == {"team"}


def test_a_team_asks_for_a_network(member, network_quota, token_client):
    data = {"name": "lan", "team": network_quota.pk, "network_kind": "nat", "justification": "ci"}
    response = post(token_client(member), data, "/api/v1/vm-networks/")
    assert response.status_code == 201, response.json()
    assert ResourceRequest.objects.get().kind == HypervisorKind.NETWORK


@pytest.mark.parametrize(("field", "value"), [("network_kind", "bridged"), ("network_kind", "ovs"), ("pool", 999)])
def test_network_kinds_for_admins_only_are_refused(member, network_quota, field, value, token_client):
    data = {"name": "lan", "team": network_quota.pk, "network_kind": "nat", "justification": "ci", field: value}
    response = post(token_client(member), data, "/api/v1/vm-networks/")
    assert response.status_code == 400 and set(errors_of(response)) == {field}
    assert not ResourceRequest.objects.exists()


def test_an_ask_through_the_api_takes_own_keys_and_user_data_only(member, team, image, ask, token_client):
    image.cloud_init = True
    image.save()
    mine = ssh_key_add(actor=member, name="laptop", public_key=public_line("ed25519"))
    theirs = ssh_key_add(actor=UserFactory(username="mallory"), name="x", public_key=public_line("ecdsa"))
    client = token_client(member)
    refused = post(client, {**ask, "ssh_keys": [theirs.pk], "user_data": "- not a mapping"})
    assert refused.status_code == 400 and set(errors_of(refused)) == {"ssh_keys", "user_data"}
    response = post(client, {**ask, "ssh_keys": [mine.pk], "user_data": "#cloud-config\nruncmd:\n  - id\n"})
    assert response.status_code == 201, response.json()
    spec = ResourceRequest.objects.get().spec
    assert spec["ssh_keys"] == [mine.public_key] and spec["user_data"] == "#cloud-config\nruncmd:\n  - id"
