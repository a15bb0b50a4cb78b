"""Fixtures of the container page tests: a container of each team, and what a member types into the form."""

from __future__ import annotations

import pytest

from containers.models import Container
from tests.support.container_rows import image_row, make_container


@pytest.fixture
def blue_container(team, member, docker_host, busybox_row, log_store) -> Container:
    container = make_container(team, member, docker_host=docker_host, image=busybox_row, name="blue-web")
    container.environment = {"DB_PASSWORD": "hunter2-secret-value"}
    container.command = ["httpd", "-f", "-p", "8080"]
    container.save()
    log_store.track(container.pk)
    return container


@pytest.fixture
def red_container(red, outsider, docker_host, log_store) -> Container:
    image = image_row(docker_host, "red/app:1", red)
    container = make_container(red, outsider, docker_host=docker_host, image=image, name="red-secret")
    log_store.track(container.pk)
    return container


@pytest.fixture
def data(team, busybox_row):
    return {
        "name": "web",
        "team": str(team.pk),
        "image": str(busybox_row.pk),
        "command": "sleep 3600",
        "environment": "",
        "ports": "",
        "cpus": "0.5",
        "memory_mib": "64",
        "restart_policy": "no",
        "justification": "A web server",
    }
