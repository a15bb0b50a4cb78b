"""Container output is bounded: lines are cut, a follow copies a bounded number of bytes, a team follows a
bounded number of containers at once, the engine keeps bounded log files, and lines reach the page promptly."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from containers import tasks
from containers.containers import logs
from containers.containers.provisioning import container_spec, team_network_make
from containers.containers.services import container_logs_follow_request
from containers.drivers import ContainerSpec, UnsafeOptions
from containers.drivers.docker_driver import LineCutter
from containers.drivers.options import ALLOWED_CREATE_KEYS, assert_safe, create_options
from containers.engines.services import engine_of
from containers.models import Container
from containers.networks.services import team_network_ensure
from portal.actions import ActionRefused
from tests.factories import DockerHostFactory
from tests.support import docker_engine as eng
from tests.support.container_rows import image_row, make_container, random_pk

pytestmark = pytest.mark.django_db

#: Prints a marker once, then stays quiet: its line must not wait for a next one.
MARKER = "marker-7f3a"
QUIET_AFTER_MARKER = ["sh", "-c", f"echo {MARKER}; exec sleep 3600"]
#: Prints one endless line (no newline) as fast as it can.
NO_NEWLINE = ["sh", "-c", "while true; do printf xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"]


def test_a_line_longer_than_the_limit_is_cut_and_its_rest_skipped():
    cutter = LineCutter(10)
    assert list(cutter.feed(b"short\n" + b"a" * 25)) == ["short", "aaaaaaaaaa [cut]"]
    assert cutter.buffer == b"", "nothing of the long line is kept"
    assert list(cutter.feed(b"a" * 50)) == []
    assert list(cutter.feed(b"aaa\nnext\nlast")) == ["next"]
    assert list(cutter.rest()) == ["last"]


def test_containers_keep_their_output_in_bounded_json_files():
    spec = ContainerSpec(
        name="blue.web", image="portal/busybox:latest", cpus=Decimal("0.5"), memory_mib=64, command=["true"],
        environment={}, ports=[], labels={"portal.team": "blue", "portal.name": "web"}, network="blue.team_local",
    )  # fmt: skip
    options = create_options(spec)
    assert options["log_config"] == {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}
    with pytest.raises(UnsafeOptions, match="json-file"):
        assert_safe({**options, "log_config": {"type": "json-file", "config": {}}}, ALLOWED_CREATE_KEYS)
    with pytest.raises(UnsafeOptions, match="json-file"):
        assert_safe({**options, "log_config": {"type": "syslog", "config": {}}}, ALLOWED_CREATE_KEYS)


@pytest.fixture
def team_follows(log_store, team):
    key = logs._team_key(team.pk)
    log_store.client.delete(key)
    yield
    log_store.client.delete(key)


def test_a_team_follows_a_bounded_number_of_containers(team, member, log_store, team_follows, settings, sent):
    settings.PORTAL_LOG_FOLLOWS_PER_TEAM = 1
    docker_host = DockerHostFactory()
    image = image_row(docker_host, "portal/busybox:latest", team)
    first, second = (
        make_container(team, member, docker_host=docker_host, image=image, name=name) for name in ("one", "two")
    )
    log_store.track(first.pk), log_store.track(second.pk)
    assert container_logs_follow_request(actor=member, container_id=first.pk)
    with pytest.raises(ActionRefused, match="already follows the output of 1 containers"):
        container_logs_follow_request(actor=member, container_id=second.pk)
    logs.follow_release(first.pk)
    assert container_logs_follow_request(actor=member, container_id=second.pk)
    logs.follow_release(second.pk)


@pytest.fixture
def run_container(engine_team, engine_member, local_engine, busybox_image, log_store):
    def run(name: str, command: list[str]) -> Container:
        container = Container.objects.create(
            pk=log_store.track(random_pk()), team=engine_team, owner=engine_member, docker_host=local_engine,
            image=busybox_image, name=name, command=command, cpus=Decimal("0.5"), memory_mib=64, state="creating",
        )  # fmt: skip
        with engine_of(local_engine) as engine:
            team_network_make(engine, team_network_ensure(team=engine_team, docker_host=local_engine))
            container.engine_id = engine.container_create(container_spec(container))
            engine.container_start(container.engine_id)
        container.state = "running"
        container.save()
        return container

    return run


def wait_for(condition, seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; fail after ``seconds``. Returns how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.integration
def test_a_printed_line_reaches_the_page_within_seconds(run_container, log_store, monkeypatch):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 30)
    container = run_container("marker", QUIET_AFTER_MARKER)
    assert eng.inspect(container.engine_id)["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-size": "10m", "max-file": "3"},
    }
    seen: list[float] = []

    def watch() -> None:
        """Poll the kept output (Redis only) while the follow runs here; then stop the container, ending it."""
        try:
            seen.append(wait_for(lambda: MARKER in log_store.lines(container.pk), 5, "the marker"))
        except BaseException:
            pass
        finally:
            eng.kill_outside(container.engine_id)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    tasks.container_logs_follow(container.pk)  # returns when the container stops
    watcher.join(15)
    assert seen, "the marker line did not reach the kept output within 5 s while the follow ran"


@pytest.mark.integration
def test_a_follow_copies_a_bounded_number_of_bytes(run_container, log_store, monkeypatch, settings):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 30)
    settings.PORTAL_LOG_LINE_MAX_BYTES, settings.PORTAL_LOG_FOLLOW_MAX_BYTES = 100, 20_000
    container = run_container("endless", NO_NEWLINE)
    started = time.monotonic()
    tasks.container_logs_follow(container.pk)
    assert time.monotonic() - started < 20, "the follow stopped at its byte bound, not its deadline"
    kept = log_store.lines(container.pk)
    assert kept[-1].startswith("[portal] stopped following after 20000 bytes")
    assert all(len(line) <= 100 + len(" [cut]") for line in kept[:-1])
    eng.kill_outside(container.engine_id)
