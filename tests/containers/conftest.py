"""Fixtures of the container tests: rows for page tests, and the real local Docker engine for driver-backed ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from containers.choices import ContainerKind
from containers.containers.provisioning import container_provision
from containers.models import Container, ContainerImage, DockerHost
from portal.choices import JobState, Role
from portal.models import Team
from portal.services import request_approve, request_submit
from tests.factories import DockerHostFactory, MembershipFactory, TeamFactory, UserFactory
from tests.support import docker_engine as eng
from tests.support.container_logs import log_store  # noqa: F401 (a fixture)
from tests.support.container_rows import image_row
from tests.support.metrics import metrics_token  # noqa: F401 (a fixture)


@pytest.fixture
def docker_host(db) -> DockerHost:
    """An engine row whose URL leads nowhere: page tests must never need it."""
    return DockerHostFactory(name="docker-a", base_url="unix:///nonexistent/docker-a.sock", is_reachable=True)


@pytest.fixture
def busybox_row(docker_host, team) -> ContainerImage:
    return image_row(docker_host, "portal/busybox:latest", team)


# --- the real local engine ---


@pytest.fixture
def engine_team(db) -> Iterator[Team]:
    """A team with a unique slug: its containers are ``<slug>.<name>`` on the engine, removed afterwards."""
    eng.require_engine()
    slug = eng.unique("ct")
    team = TeamFactory(name=slug, slug=slug)
    try:
        yield team
    finally:
        eng.containers_remove(f"{slug}.")
        eng.networks_remove(f"{slug}.")


@pytest.fixture
def engine_member(engine_team):
    user = UserFactory(username=f"member-{engine_team.slug}")
    MembershipFactory(user=user, team=engine_team, role=Role.MEMBER)
    return user


@pytest.fixture
def engine_viewer(engine_team):
    user = UserFactory(username=f"viewer-{engine_team.slug}")
    MembershipFactory(user=user, team=engine_team, role=Role.VIEWER)
    return user


@pytest.fixture
def local_engine(db, engine_team) -> DockerHost:
    """The local engine as the portal knows it."""
    return DockerHost.objects.create(name=f"local-{engine_team.slug}", base_url=eng.LOCAL_ENGINE, is_reachable=True)


@pytest.fixture
def busybox_image(local_engine, engine_team) -> ContainerImage:
    client = eng.docker_client()
    try:
        image_id = client.images.get(eng.BUSYBOX).id
    finally:
        client.close()
    image = ContainerImage.objects.create(docker_host=local_engine, reference=eng.BUSYBOX, image_id=image_id)
    image.offered_to.add(engine_team)
    return image


@pytest.fixture
def build(engine_team, engine_member, local_engine, busybox_image, staff, sent) -> Callable[..., Container]:
    """Build a real container the way the portal does: ask, approve, run the provisioning job (in this process)."""

    def make(
        name: str,
        command: list[str] | None = None,
        ports: list[dict[str, Any]] | None = None,
        cpus: str = "0.5",
        memory_mib: int = 64,
    ) -> Container:
        request = request_submit(
            actor=engine_member,
            team=engine_team,
            kind=ContainerKind.CONTAINER,
            name=name,
            vcpus=Decimal(cpus),
            memory_mib=memory_mib,
            disk_gib=0,
            justification="test",
            spec={
                "image_id": busybox_image.pk,
                "image": busybox_image.reference,
                "docker_host_id": local_engine.pk,
                "command": command if command is not None else ["sleep", "3600"],
                "environment": {"GREETING": "hello"},
                "ports": ports or [],
                "restart_policy": "no",
            },
        )
        job = request_approve(actor=staff, request_id=request.pk)
        container_provision(job_id=job.pk)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED, f"{job.error}\n{job.log}"
        return Container.objects.select_related("team", "docker_host").get(request=request)

    return make
