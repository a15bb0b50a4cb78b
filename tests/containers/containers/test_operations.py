"""Provisioning and container actions against the real local Docker engine, checked through the engine itself."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from containers.choices import ContainerKind
from containers.containers.operations import container_operate
from containers.containers.provisioning import container_provision
from containers.containers.services import container_action_request
from containers.drivers.options import PIDS_LIMIT, SAFE_CAPABILITIES
from containers.models import Container
from portal.choices import JobState, RequestState
from portal.models import AuditEvent, Job, ResourceRequest
from tests.support import docker_engine as eng
from tests.support.rows import usage_of

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def act(actor, container: Container, slug: str) -> Job:
    """Ask for an action as a page would, then run its job as the worker would (in this process)."""
    job = container_action_request(actor=actor, container_id=container.pk, slug=slug)
    container_operate(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_provisioning_creates_a_confined_running_container(build, engine_team):
    port = eng.free_port()
    container = build("web", ports=[{"host_port": port, "container_port": 8080, "protocol": "tcp"}])
    assert container.state == "running"
    assert container.request.state == RequestState.FULFILLED
    facts = eng.inspect(container.engine_id)
    assert facts["Name"] == f"/{engine_team.slug}.web"
    assert facts["State"]["Running"] is True
    host = facts["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 64 * 1024 * 1024
    assert host["PidsLimit"] == PIDS_LIMIT
    assert host["CapDrop"] == ["ALL"]
    assert set(host["CapAdd"]) <= set(SAFE_CAPABILITIES)
    assert host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert not host["Binds"]
    assert not host.get("Mounts")
    assert not facts["Mounts"]
    assert host["NetworkMode"] == f"{engine_team.slug}.team_{container.docker_host.name}", "its team's own network"
    assert list(facts["NetworkSettings"]["Networks"]) == [host["NetworkMode"]], "never the shared default bridge"
    assert host["PidMode"] == "" and host["IpcMode"] in ("private", "shareable", "")
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert "GREETING=hello" in facts["Config"]["Env"]
    assert facts["Config"]["Labels"]["portal.team"] == engine_team.slug
    assert facts["Config"]["Cmd"] == ["sleep", "3600"]


def test_provisioning_again_changes_nothing(build, engine_team):
    container = build("again")
    job = Job.objects.get(request=container.request)
    container_provision(job_id=job.pk)
    assert Container.objects.get(pk=container.pk).engine_id == container.engine_id
    assert eng.containers_named(f"{engine_team.slug}.again") == [f"{engine_team.slug}.again"]


def test_a_container_that_cannot_start_is_removed_and_frees_its_quota(
    engine_team, engine_member, local_engine, busybox_image, staff, sent
):
    """Its host port is taken by someone else: create succeeds, start fails; nothing is left behind."""
    from portal.services import request_approve, request_submit

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        request = request_submit(
            actor=engine_member, team=engine_team, kind=ContainerKind.CONTAINER, name="busy",
            vcpus=Decimal("0.5"), memory_mib=64, disk_gib=0, justification="test",
            spec={"image_id": busybox_image.pk, "image": busybox_image.reference, "docker_host_id": local_engine.pk,
                  "command": ["sleep", "60"], "environment": {}, "restart_policy": "no",
                  "ports": [{"host_port": port, "container_port": 80, "protocol": "tcp"}]},
        )  # fmt: skip
        job = request_approve(actor=staff, request_id=request.pk)
        container_provision(job_id=job.pk)
    job.refresh_from_db()
    request.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error
    assert request.state == RequestState.FAILED
    assert not Container.objects.filter(request=request).exists()
    assert not eng.exists(f"{engine_team.slug}.busy")
    assert usage_of(engine_team).used.container_count == 0
    assert usage_of(engine_team).reserved.container_count == 0


def test_actions_drive_the_real_container(build, engine_member, engine_team):
    container = build("life")
    name = f"{engine_team.slug}.life"
    started = eng.inspect(name)["State"]["StartedAt"]

    job = act(engine_member, container, "stop")
    assert job.state == JobState.SUCCEEDED, job.error
    assert eng.engine_state(name) == "exited"
    container.refresh_from_db()
    assert container.state == "exited"
    assert container.state_changed_at is not None

    assert act(engine_member, container, "start").state == JobState.SUCCEEDED
    assert eng.engine_state(name) == "running"
    container.refresh_from_db()
    assert container.state == "running"

    restarted_before = eng.inspect(name)["State"]["StartedAt"]
    assert act(engine_member, container, "restart").state == JobState.SUCCEEDED
    assert eng.engine_state(name) == "running"
    assert eng.inspect(name)["State"]["StartedAt"] not in (started, restarted_before)

    assert act(engine_member, container, "pause").state == JobState.SUCCEEDED
    assert eng.engine_state(name) == "paused"
    container.refresh_from_db()
    assert container.state == "paused"

    assert act(engine_member, container, "unpause").state == JobState.SUCCEEDED
    assert eng.engine_state(name) == "running"
    container.refresh_from_db()
    assert container.state == "running"
    assert "The container is running" in job_last_message(container)


def job_last_message(container: Container) -> str:
    job = Job.objects.filter(target_type__model="container", target_id=str(container.pk)).order_by("-pk").first()
    return job.log[-1]["message"]


def test_remove_deletes_the_container_and_its_row_and_frees_the_quota(build, engine_member, engine_team):
    container = build("gone", cpus="1.5", memory_mib=96)
    before = usage_of(engine_team)
    assert before.used.container_count == 1
    job = act(engine_member, container, "remove")
    assert job.state == JobState.SUCCEEDED, job.error
    assert not eng.exists(f"{engine_team.slug}.gone")
    assert not Container.objects.filter(pk=container.pk).exists()
    freed = before.used - usage_of(engine_team).used
    assert (freed.vcpus, freed.memory_mib, freed.container_count) == (Decimal("1.5"), 96, 1)
    assert AuditEvent.objects.filter(action="container.removed", target_id=str(container.pk)).exists()
    # the request keeps its history
    assert ResourceRequest.objects.get(pk=container.request_id).state == RequestState.FULFILLED


def test_actions_on_a_container_removed_outside_the_portal(build, engine_member, engine_team):
    container = build("outside")
    eng.remove_outside(f"{engine_team.slug}.outside")

    job = act(engine_member, container, "stop")
    assert job.state == JobState.FAILED
    assert job.error.startswith("The container is gone from its engine:")
    container.refresh_from_db()
    assert container.state == "missing"

    # a missing container can still be removed: the engine's "absent" is success, the row goes
    job = act(engine_member, container, "remove")
    assert job.state == JobState.SUCCEEDED, job.error
    assert not Container.objects.filter(pk=container.pk).exists()


def test_stop_of_a_container_stopped_outside_the_portal_succeeds(build, engine_member, engine_team):
    container = build("quiet")
    eng.kill_outside(f"{engine_team.slug}.quiet")
    job = act(engine_member, container, "stop")  # the row still says running
    assert job.state == JobState.SUCCEEDED, job.error
    container.refresh_from_db()
    assert container.state == "exited"


def test_a_finished_job_delivered_again_does_nothing(build, engine_member, engine_team):
    container = build("twice")
    job = act(engine_member, container, "pause")
    assert job.state == JobState.SUCCEEDED
    eng.unpause_outside(f"{engine_team.slug}.twice")
    container_operate(job_id=job.pk)
    assert eng.engine_state(f"{engine_team.slug}.twice") == "running"
