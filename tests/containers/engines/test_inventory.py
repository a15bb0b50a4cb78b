"""The periodic reconcile against the real local engine: rows follow what happened outside the portal."""

from __future__ import annotations

import pytest

from containers.engines.inventory import container_state_observed, docker_host_reconcile
from containers.models import Container, ContainerImage, ContainerStatSample, DockerHost
from portal.choices import AuditResult
from portal.models import AuditEvent
from tests.factories import DockerHostFactory
from tests.support import docker_engine as eng

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_killed_outside_becomes_exited_removed_outside_becomes_missing(build, engine_team, local_engine):
    killed, removed, untouched = build("killed"), build("removed"), build("untouched")
    eng.kill_outside(f"{engine_team.slug}.killed")
    eng.remove_outside(f"{engine_team.slug}.removed")

    report = docker_host_reconcile(docker_host_id=local_engine.pk)

    assert report.reachable
    states = dict(Container.objects.filter(team=engine_team).values_list("name", "state"))
    assert states == {"killed": "exited", "removed": "missing", "untouched": "running"}
    assert sorted(report.changed) == sorted([str(killed), str(removed)])
    assert report.missing == [str(removed)]
    event = AuditEvent.objects.get(action="container.missing")
    assert (event.target_id, event.team, event.result, event.actor) == (
        str(removed.pk),
        engine_team,
        AuditResult.FAILURE,
        None,
    )
    assert f"{engine_team.slug}.removed is no longer on {local_engine}" in event.detail
    assert Container.objects.get(pk=untouched.pk).state_changed_at is None

    # a second pass finds nothing new to change or audit
    again = docker_host_reconcile(docker_host_id=local_engine.pk)
    assert again.changed == [] and again.missing == []
    assert AuditEvent.objects.filter(action="container.missing").count() == 1


def test_containers_being_created_are_left_alone(build, engine_team, local_engine):
    container = build("young")
    Container.objects.filter(pk=container.pk).update(state="creating", engine_id="")
    docker_host_reconcile(docker_host_id=local_engine.pk)
    assert Container.objects.get(pk=container.pk).state == "creating"


def test_images_are_listed_with_present_flags(local_engine, busybox_image, engine_team):
    stale = ContainerImage.objects.create(
        docker_host=local_engine, reference=f"portal-test-{engine_team.slug}/gone:1", image_id="sha256:gone"
    )
    report = docker_host_reconcile(docker_host_id=local_engine.pk)
    assert report.images >= 1
    busybox_image.refresh_from_db()
    assert busybox_image.present
    assert busybox_image.last_seen_at is not None
    assert list(busybox_image.offered_to.all()) == [engine_team], "offers are kept"
    stale.refresh_from_db()
    assert not stale.present

    rows = set(
        ContainerImage.objects.filter(docker_host=local_engine, present=True).values_list("reference", flat=True)
    )
    assert eng.BUSYBOX in rows
    assert not any("<none>" in reference for reference in rows)
    new_rows = ContainerImage.objects.filter(docker_host=local_engine, present=True).exclude(pk=busybox_image.pk)
    assert all(not row.offered_to.exists() for row in new_rows), "new images are offered to nobody"


def test_an_image_back_on_the_engine_is_present_again(local_engine, busybox_image):
    ContainerImage.objects.filter(pk=busybox_image.pk).update(present=False, image_id="sha256:old")
    docker_host_reconcile(docker_host_id=local_engine.pk)
    busybox_image.refresh_from_db()
    assert busybox_image.present
    assert busybox_image.image_id != "sha256:old"


def test_stats_samples_for_running_containers(build, engine_team, local_engine):
    running, stopped = build("busy", command=["sh", "-c", "while true; do :; done"]), build("idle")
    eng.kill_outside(f"{engine_team.slug}.idle")
    Container.objects.filter(pk=stopped.pk).update(state="exited")
    report = docker_host_reconcile(docker_host_id=local_engine.pk)
    assert report.samples == 1
    sample = ContainerStatSample.objects.get()
    assert sample.container == running
    assert sample.memory_used_kib is not None and sample.memory_used_kib > 0
    assert sample.cpu_percent is not None and sample.cpu_percent > 10, "a busy loop shows as CPU in use"


@pytest.mark.parametrize("base_url", ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"])
def test_unreachable_engine_is_marked_and_rows_are_untouched(db, base_url, engine_team, local_engine, build):
    container = build("kept")
    DockerHost.objects.filter(pk=local_engine.pk).update(base_url=base_url)
    report = docker_host_reconcile(docker_host_id=local_engine.pk)
    assert not report.reachable
    host = DockerHost.objects.get(pk=local_engine.pk)
    assert not host.is_reachable
    assert host.last_error
    assert host.unreachable_since is not None
    assert Container.objects.get(pk=container.pk).state == "running", "an unreachable engine is no proof of loss"
    assert not AuditEvent.objects.filter(action="container.missing").exists()

    # back again: reachable, error cleared
    DockerHost.objects.filter(pk=local_engine.pk).update(base_url=eng.LOCAL_ENGINE)
    assert docker_host_reconcile(docker_host_id=local_engine.pk).reachable
    host.refresh_from_db()
    assert (host.is_reachable, host.last_error, host.unreachable_since) == (True, "", None)


def test_unreachable_since_keeps_the_first_failure(db):
    docker_host = DockerHostFactory(base_url="unix:///nonexistent/docker.sock", is_reachable=True)
    docker_host_reconcile(docker_host_id=docker_host.pk)
    first = DockerHost.objects.get(pk=docker_host.pk).unreachable_since
    docker_host_reconcile(docker_host_id=docker_host.pk)
    assert DockerHost.objects.get(pk=docker_host.pk).unreachable_since == first


def test_event_observation_updates_only_known_settled_rows(build, local_engine):
    container = build("evented")
    assert container_state_observed(docker_host_id=local_engine.pk, engine_id=container.engine_id, state="exited")
    assert Container.objects.get(pk=container.pk).state == "exited"
    assert not container_state_observed(docker_host_id=local_engine.pk, engine_id=container.engine_id, state="exited")
    assert not container_state_observed(docker_host_id=local_engine.pk, engine_id="someone-else", state="exited")
    Container.objects.filter(pk=container.pk).update(state="creating")
    assert not container_state_observed(docker_host_id=local_engine.pk, engine_id=container.engine_id, state="running")
