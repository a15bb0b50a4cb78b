"""A container on the real stack: asked for in the page, approved in Django admin, built by a real Celery
worker on the local Docker engine, serving HTTP on a loopback port; then changed outside the portal while
the event listener runs, and the row follows within seconds.

Checked through the engine (``docker inspect``) and over HTTP on 127.0.0.1, not only through the portal's rows.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator

import pytest
from django.test import Client

from containers.models import Container, ContainerImage, DockerHost
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from tests.factories import UserFactory
from tests.support import docker_engine as eng
from tests.support.processes import ManagedProcess
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

#: Seconds the worker may take to create and start a container.
BUILD_TIMEOUT = 90
#: Seconds within which an event seen by the listener must reach the row.
EVENT_TIMEOUT = 5
LISTENER = [sys.executable, "manage.py", "listen_docker_events", "--interval", "1"]


@pytest.fixture
def local_engine(transactional_db, live_team) -> Iterator[DockerHost]:
    """The local engine with portal/busybox offered to the test team; the team's containers are removed after."""
    yield from eng.local_engine_for(live_team)


def http_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read().decode()


def serves(port: int) -> bool:
    try:
        return eng.INDEX_TEXT in http_get(port)
    except OSError:
        return False


def test_container_asked_approved_runs_serves_and_follows_the_engine(
    local_engine, live_team, live_member, celery_worker_process, tmp_path
):
    image = ContainerImage.objects.get(docker_host=local_engine)
    port = eng.free_port()
    member = Client()
    member.force_login(live_member)
    response = member.post(
        "/containers/new/",
        {
            "name": "web",
            "team": live_team.pk,
            "image": image.pk,
            "command": "httpd -f -p 8080 -h /var/www",
            "environment": "GREETING=hello",
            "ports": f"{port}:8080",
            "cpus": "0.5",
            "memory_mib": "64",
            "restart_policy": "no",
            "justification": "integration test",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    request = ResourceRequest.objects.get(team=live_team, name="web")
    assert request.state == RequestState.PENDING

    admin = Client()
    admin.force_login(UserFactory(username=f"root-{live_team.slug}", is_staff=True, is_superuser=True))
    response = admin.post(
        "/admin/portal/resourcerequest/", {"action": "approve_selected", "_selected_action": [request.pk]}
    )
    assert response.status_code == 302

    job = Job.objects.get(request=request)
    wait_until(
        lambda: Job.objects.get(pk=job.pk).state in (JobState.SUCCEEDED, JobState.FAILED),
        BUILD_TIMEOUT,
        "the provisioning job",
    )
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{celery_worker_process.log()}"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    container = Container.objects.get(request=request)
    assert container.state == "running"

    # What the engine itself says.
    name = f"{live_team.slug}.web"
    facts = eng.inspect(name)
    assert facts["Id"] == container.engine_id
    assert facts["State"]["Running"] is True
    host = facts["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["PidsLimit"] and host["PidsLimit"] > 0
    assert host["CapDrop"] == ["ALL"]
    assert host["Privileged"] is False
    assert not host["Binds"]
    assert not facts["Mounts"]
    assert host["NetworkMode"] == f"{live_team.slug}.team_{local_engine.name}", "its team's own network"
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert facts["Config"]["Cmd"] == ["httpd", "-f", "-p", "8080", "-h", "/var/www"]

    # It serves its page on the loopback port it asked for.
    wait_until(lambda: serves(port), 20, f"the index page on 127.0.0.1:{port}")
    assert eng.INDEX_TEXT in http_get(port)
    assert "Running" in member.get(f"/containers/{container.pk}/").content.decode()

    # The event listener follows what happens outside the portal.
    DockerHost.objects.filter(pk=local_engine.pk).update(is_reachable=False)
    listener = ManagedProcess(LISTENER, tmp_path / "listener.log").start()
    try:
        # Its first reconcile marks the engine reachable; it reads events from just before that on.
        wait_until(lambda: DockerHost.objects.get(pk=local_engine.pk).is_reachable, 30, "the listener to start")
        assert listener.running(), listener.log()

        eng.kill_outside(name)
        wait_until(
            lambda: Container.objects.get(pk=container.pk).state == "exited",
            EVENT_TIMEOUT,
            f"the row to show the kill\n{listener.log()}",
            interval=0.2,
        )
        assert not serves(port)

        eng.remove_outside(name)
        wait_until(
            lambda: Container.objects.get(pk=container.pk).state == "missing",
            EVENT_TIMEOUT,
            f"the row to show the removal\n{listener.log()}",
            interval=0.2,
        )
        assert listener.running(), listener.log()
    finally:
        listener.stop()
    page = member.get(f"/containers/{container.pk}/").content.decode()
    assert "Missing on engine" in page
