"""Docker host services: probing an engine records what it is, or that it cannot be reached."""

import pytest
from django.core.exceptions import PermissionDenied

from containers.choices import ContainerJobAction, ContainerState
from containers.containers.actions import ACTIONS
from containers.containers.services import OPERATE_TASK, container_action_request
from containers.engines.services import docker_host_probe
from containers.models import Container, DockerHost
from portal.actions import ActionRefused
from portal.choices import JobState
from portal.models import AuditEvent, Job
from tests.factories import DockerHostFactory
from tests.support.container_rows import make_container

pytestmark = pytest.mark.django_db

LOCAL_ENGINE = "unix:///var/run/docker.sock"


def local_engine_answers() -> bool:
    try:
        import docker

        client = docker.DockerClient(base_url=LOCAL_ENGINE, timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def test_probe_of_an_unreachable_engine_marks_it_and_does_not_raise():
    docker_host = DockerHostFactory(
        base_url="unix:///nonexistent.sock", is_reachable=True, engine_version="27.0.0", cpus=4, memory_mib=1024
    )
    probed = docker_host_probe(docker_host_id=docker_host.pk)
    docker_host.refresh_from_db()
    assert probed.pk == docker_host.pk
    assert not docker_host.is_reachable
    assert docker_host.last_error
    assert docker_host.last_probed_at is not None
    # earlier facts are kept
    assert (docker_host.engine_version, docker_host.cpus, docker_host.memory_mib) == ("27.0.0", 4, 1024)


@pytest.mark.parametrize("base_url", ["tcp://127.0.0.1:1", "http//no-port", "npipe:////./pipe/docker"])
def test_probe_of_a_refused_or_malformed_url_does_not_raise(base_url):
    docker_host = DockerHostFactory(base_url=base_url)
    docker_host_probe(docker_host_id=docker_host.pk)
    docker_host.refresh_from_db()
    assert not docker_host.is_reachable
    assert docker_host.last_error


@pytest.mark.integration
@pytest.mark.skipif(not local_engine_answers(), reason="no Docker engine answers on /var/run/docker.sock")
def test_probe_of_the_local_engine_records_its_facts():
    docker_host = DockerHostFactory(base_url=LOCAL_ENGINE, last_error="old")
    docker_host_probe(docker_host_id=docker_host.pk)
    docker_host = DockerHost.objects.get(pk=docker_host.pk)
    assert docker_host.is_reachable
    assert docker_host.last_error == ""
    assert docker_host.engine_version
    assert docker_host.cpus and docker_host.cpus > 0
    assert docker_host.memory_mib and docker_host.memory_mib > 0


# --- asking for container actions (checked and queued here, run by a worker) ---

ALLOWED = {
    "start": {"exited", "dead"},
    "stop": {"running", "paused", "restarting"},
    "restart": {"running", "exited"},
    "pause": {"running"},
    "unpause": {"paused"},
    "remove": {"running", "paused", "restarting", "exited", "dead", "missing", "unknown"},
}
STATES = ["creating", "running", "paused", "restarting", "exited", "dead", "missing", "unknown"]


@pytest.fixture
def make(team, member, docker_host, busybox_row):
    def build(state="running", name="web"):
        return make_container(team, member, docker_host=docker_host, image=busybox_row, name=name, state=state)

    return build


def action_jobs(container):
    return Job.objects.filter(target_type__model="container", target_id=str(container.pk)).exclude(
        action=ContainerJobAction.CONTAINER_PROVISION
    )


def test_the_catalogue_is_what_these_tests_assume():
    assert {slug: set(action.allowed_states) for slug, action in ACTIONS.items()} == ALLOWED


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("slug", list(ALLOWED))
def test_action_allowed_only_in_its_states(make, member, sent, slug, state, django_capture_on_commit_callbacks):
    container = make(state=state)
    if state in ALLOWED[slug]:
        with django_capture_on_commit_callbacks(execute=True):
            job = container_action_request(actor=member, container_id=container.pk, slug=slug)
        assert job.action == ACTIONS[slug].job_action
        assert job.state == JobState.QUEUED
        assert sent == [{"task": OPERATE_TASK, "args": (job.pk,), "task_id": str(job.celery_task_id)}]
    else:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ActionRefused) as refused:
            container_action_request(actor=member, container_id=container.pk, slug=slug)
        label = dict(ContainerState.choices)[state].lower()
        assert refused.value.messages == [f"A container that is {label} cannot be asked to {slug}."]
        assert not action_jobs(container).exists()
        assert sent == []


@pytest.mark.parametrize("slug", list(ALLOWED))
def test_viewer_may_not_act(make, viewer, sent, slug):
    container = make(state="running" if slug != "start" else "exited")
    if slug == "unpause":
        Container.objects.filter(pk=container.pk).update(state="paused")
    with pytest.raises(PermissionDenied):
        container_action_request(actor=viewer, container_id=container.pk, slug=slug)
    assert not action_jobs(container).exists()
    assert not AuditEvent.objects.filter(action=f"container.{slug}").exists()


def test_outsider_and_anonymous_may_not_act(make, outsider, sent):
    from django.contrib.auth.models import AnonymousUser

    container = make()
    for actor in (outsider, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            container_action_request(actor=actor, container_id=container.pk, slug="stop")
    assert not action_jobs(container).exists()


def test_team_admin_and_portal_admin_may_act(make, team_admin, staff, sent):
    first, second = make(name="one"), make(name="two")
    assert container_action_request(actor=team_admin, container_id=first.pk, slug="stop").requested_by == team_admin
    assert container_action_request(actor=staff, container_id=second.pk, slug="stop").requested_by == staff


def test_no_second_action_while_one_is_queued_or_running(make, member, sent):
    container = make()
    job = container_action_request(actor=member, container_id=container.pk, slug="pause")
    for state in (JobState.QUEUED, JobState.RUNNING):
        Job.objects.filter(pk=job.pk).update(state=state)
        with pytest.raises(ActionRefused) as refused:
            container_action_request(actor=member, container_id=container.pk, slug="stop")
        assert refused.value.messages == ["Another operation on this container is still running; wait until it ends."]
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    container_action_request(actor=member, container_id=container.pk, slug="stop")
    assert action_jobs(container).count() == 2


def test_while_the_container_is_still_being_created_nothing_is_allowed(team, member, docker_host, busybox_row, sent):
    container = make_container(
        team, member, docker_host=docker_host, image=busybox_row, name="new", state="creating", job_state="running"
    )
    for slug in ALLOWED:
        with pytest.raises(ActionRefused):
            container_action_request(actor=member, container_id=container.pk, slug=slug)


def test_unknown_action(make, member, sent):
    with pytest.raises(ActionRefused, match="There is no container action 'explode'"):
        container_action_request(actor=member, container_id=make().pk, slug="explode")


def test_job_is_sent_only_after_commit_and_audited(make, member, sent, django_capture_on_commit_callbacks):
    container = make()
    with django_capture_on_commit_callbacks() as callbacks:
        job = container_action_request(actor=member, container_id=container.pk, slug="restart")
        assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent[0]["args"] == (job.pk,)
    event = AuditEvent.objects.get(action="container.restart")
    assert (event.actor, event.team, event.target_id) == (member, container.team, str(container.pk))
