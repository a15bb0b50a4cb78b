"""Container environment values: sealed at rest, opened only for the engine, masked on every page."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from containers.choices import ContainerKind
from containers.containers.kind import container_create_from_request
from containers.containers.provisioning import container_spec
from containers.models import Container
from containers.secrets import SEALED_PREFIX, environment_open, environment_seal, environment_seal_plain
from portal.choices import RequestState
from tests.factories import ResourceRequestFactory
from tests.support.container_rows import make_container

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-very-secret"


def test_seal_and_open_round_trip():
    sealed = environment_seal({"DB_PASSWORD": PASSWORD, "EMPTY": ""})
    assert set(sealed) == {"DB_PASSWORD", "EMPTY"}
    assert PASSWORD not in str(sealed)
    assert all(value.startswith(SEALED_PREFIX) for value in sealed.values())
    assert environment_open(sealed) == {"DB_PASSWORD": PASSWORD, "EMPTY": ""}


def test_values_stored_before_sealing_are_still_read_and_sealed_once():
    legacy = {"DB_PASSWORD": PASSWORD}
    assert environment_open(legacy) == legacy, "rows written before sealing keep working"
    sealed = environment_seal_plain(legacy)
    assert PASSWORD not in str(sealed)
    assert environment_seal_plain(sealed) == sealed, "sealing twice changes nothing"


def request_for(team, member, docker_host, image, environment):
    return ResourceRequestFactory(
        team=team, requested_by=member, kind=ContainerKind.CONTAINER, name="db", vcpus=Decimal("0.5"),
        memory_mib=64, disk_gib=0, state=RequestState.APPROVED,
        spec={"docker_host_id": docker_host.pk, "image_id": image.pk, "environment": environment, "ports": []},
    )  # fmt: skip


def test_the_container_row_holds_sealed_values_and_the_engine_gets_them_open(team, member, docker_host, busybox_row):
    request = request_for(team, member, docker_host, busybox_row, {"DB_PASSWORD": PASSWORD})
    container = container_create_from_request(request)
    container.refresh_from_db()
    assert PASSWORD not in str(container.environment)
    assert container_spec(container).environment == {"DB_PASSWORD": PASSWORD}


def test_the_request_admin_page_masks_values(admin_client, team, member, docker_host, busybox_row):
    sealed = request_for(team, member, docker_host, busybox_row, environment_seal({"DB_PASSWORD": PASSWORD}))
    legacy = ResourceRequestFactory(
        team=team, requested_by=member, kind=ContainerKind.CONTAINER, name="old", state=RequestState.PENDING,
        spec={"docker_host_id": docker_host.pk, "environment": {"API_TOKEN": "plain-old-token"}},
    )  # fmt: skip
    for request, name, value in ((sealed, "DB_PASSWORD", PASSWORD), (legacy, "API_TOKEN", "plain-old-token")):
        page = admin_client.get(f"/admin/portal/resourcerequest/{request.pk}/change/").content.decode()
        assert name in page
        assert value not in page
        assert SEALED_PREFIX not in page, "not even the sealed form is shown"


def test_the_container_page_shows_names_only(client_for, team, member, docker_host, busybox_row, no_hypervisor):
    container = make_container(team, member, docker_host=docker_host, image=busybox_row, name="db")
    Container.objects.filter(pk=container.pk).update(environment=environment_seal({"DB_PASSWORD": PASSWORD}))
    page = client_for(member).get(f"/containers/{container.pk}/").content.decode()
    assert "DB_PASSWORD" in page
    assert PASSWORD not in page and SEALED_PREFIX not in page


def test_the_data_migration_seals_existing_values(team, member, docker_host, busybox_row):
    container = make_container(team, member, docker_host=docker_host, image=busybox_row, name="db")
    Container.objects.filter(pk=container.pk).update(environment={"DB_PASSWORD": PASSWORD})
    request = request_for(team, member, docker_host, busybox_row, {"DB_PASSWORD": PASSWORD})
    migration = importlib.import_module("containers.migrations.0007_seal_container_environment")
    migration.seal_environment(apps, None)
    container.refresh_from_db()
    request.refresh_from_db()
    for environment in (container.environment, request.spec["environment"]):
        assert PASSWORD not in str(environment)
        assert environment_open(environment) == {"DB_PASSWORD": PASSWORD}
