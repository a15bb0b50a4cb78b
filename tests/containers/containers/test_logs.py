"""Container output copied into Redis by a worker task, and shown by pages that never ask the engine."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import docker
import pytest
from django.test import TestCase

from containers import tasks
from containers.containers import logs
from containers.containers.provisioning import container_spec
from containers.engines.services import engine_of
from containers.models import Container
from tests.support import docker_engine as eng
from tests.support.container_rows import make_container, random_pk
from tests.support.pages import csrf_post

pytestmark = pytest.mark.django_db

#: Prints a numbered line five times a second, for ever.
TALKER = ["sh", "-c", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"]
#: Prints two lines, then nothing.
QUIET = ["sh", "-c", "echo first; echo second; exec sleep 3600"]


def refuse_engines(monkeypatch) -> None:
    """What ``no_hypervisor`` does, from this point of a test on."""

    def refuse(*args, **kwargs):
        raise AssertionError("An engine was contacted while rendering a page")

    monkeypatch.setattr(docker, "DockerClient", refuse)
    monkeypatch.setattr(docker, "from_env", refuse)


@pytest.fixture
def run_container(engine_team, engine_member, local_engine, busybox_image, log_store):
    """A container started through the portal's driver, with a row whose pk no other run uses."""

    def run(name: str, command: list[str]) -> Container:
        container = Container.objects.create(
            pk=log_store.track(random_pk()), team=engine_team, owner=engine_member, docker_host=local_engine,
            image=busybox_image, name=name, command=command, cpus=Decimal("0.5"), memory_mib=64, state="creating",
        )  # fmt: skip
        spec = container_spec(container)
        with engine_of(local_engine) as engine:
            engine.network_create(name=spec.network, labels={"portal.team": engine_team.slug})
            container.engine_id = engine.container_create(spec)
            engine.container_start(container.engine_id)
        container.state = "running"
        container.save()
        return container

    return run


def numbers(lines: list[str]) -> list[int]:
    return [int(line.removeprefix("line-")) for line in lines if line.startswith("line-")]


@pytest.mark.integration
def test_follow_copies_output_into_redis_and_the_page_shows_it(
    run_container, engine_member, client_for, log_store, monkeypatch
):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 3)
    container = run_container("talker", TALKER)
    time.sleep(1.5)  # some output before the copy starts
    assert logs.follow_claim(container.pk)

    started = time.monotonic()
    tasks.container_logs_follow(container.pk)
    took = time.monotonic() - started

    assert 2.5 <= took < 8, f"the follow ran {took:.1f} s"
    kept = log_store.lines(container.pk)
    assert numbers(kept)[:3] == [0, 1, 2], "the lines from before the follow are copied first"
    assert max(numbers(kept)) >= 15, "and then new ones for about FOLLOW_SECONDS"
    assert not log_store.follower(container.pk), "the follower let go"

    refuse_engines(monkeypatch)
    client = client_for(engine_member)
    page = client.get(f"/containers/{container.pk}/logs/").content.decode()
    assert "line-0\n" in page
    assert f"line-{max(numbers(kept))}\n" in page
    assert "following live" not in page
    detail = client.get(f"/containers/{container.pk}/").content.decode()
    assert "line-1\n" in detail


@pytest.mark.integration
def test_kept_output_has_no_line_twice(run_container, log_store, monkeypatch):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 3)
    container = run_container("talker", TALKER)
    time.sleep(2.5)
    for _ in range(3):  # the overlap depends on where in a second the copy starts
        tasks.container_logs_follow(container.pk)
        kept = numbers(log_store.lines(container.pk))
        assert kept == sorted(set(kept)), f"lines kept twice: {sorted({n for n in kept if kept.count(n) > 1})}"


@pytest.mark.integration
def test_follow_of_a_quiet_container_ends_on_time(run_container, log_store, monkeypatch):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 3)
    container = run_container("quiet", QUIET)
    time.sleep(1)
    # Bounds the test if the follow does not end by itself: the stream ends when the container stops.
    stopper = threading.Timer(15, eng.kill_outside, args=[container.engine_id])
    stopper.start()
    try:
        started = time.monotonic()
        tasks.container_logs_follow(container.pk)
        took = time.monotonic() - started
    finally:
        stopper.cancel()
    assert log_store.lines(container.pk)[:2] == ["first", "second"]
    assert took < logs.FOLLOW_SECONDS + 5, f"the follow ran {took:.1f} s instead of about {logs.FOLLOW_SECONDS} s"


@pytest.mark.integration
def test_follow_of_a_container_gone_from_its_engine_says_so(
    engine_team, engine_member, local_engine, busybox_image, log_store
):
    container = Container.objects.create(
        pk=log_store.track(random_pk()), team=engine_team, owner=engine_member, docker_host=local_engine,
        image=busybox_image, name="ghost", cpus=Decimal("0.5"), memory_mib=64, state="running",
        engine_id=f"{engine_team.slug}.never-created",
    )  # fmt: skip
    assert logs.follow_claim(container.pk)
    tasks.container_logs_follow(container.pk)
    (line,) = log_store.lines(container.pk)
    assert line.startswith("[portal] could not read the output:")
    assert not log_store.follower(container.pk)


# --- the pages (no engine) ---


@pytest.fixture
def page_container(team, member, docker_host, busybox_row, log_store):
    container = make_container(team, member, docker_host=docker_host, image=busybox_row, name="web")
    log_store.track(container.pk)
    return container


def follow_post(client, url):
    """The page's htmx POST that starts following; the follow is sent after commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return csrf_post(client, url, htmx=True)


def test_post_starts_following_only_once(client_for, member, page_container, sent, log_store, no_hypervisor):
    client = client_for(member)
    url = f"/containers/{page_container.pk}/logs/"
    first = follow_post(client, url)
    second = follow_post(client, url)
    assert first.status_code == second.status_code == 200
    follows = [call for call in sent if call["task"] == "containers.tasks.container_logs_follow"]
    assert [call["args"] for call in follows] == [(page_container.pk,)]
    assert log_store.follower(page_container.pk)
    for response in (first, second):
        assert "following live" in response.content.decode()
        assert 'hx-trigger="every 2s"' in response.content.decode()
    # once the follower let go, asking again starts a new one
    logs.follow_release(page_container.pk)
    follow_post(client, url)
    assert len([call for call in sent if call["task"] == "containers.tasks.container_logs_follow"]) == 2


def test_get_shows_kept_lines_and_whether_someone_follows(client_for, viewer, page_container, log_store, no_hypervisor):
    logs.logs_replace(page_container.pk, ["hello <b>world</b>", "second line"])
    client = client_for(viewer)
    page = client.get(f"/containers/{page_container.pk}/logs/").content.decode()
    assert "hello &lt;b&gt;world&lt;/b&gt;\nsecond line" in page, "output is escaped"
    assert "following live" not in page
    assert logs.follow_claim(page_container.pk)
    assert "following live" in client.get(f"/containers/{page_container.pk}/logs/").content.decode()


def test_no_follow_for_a_container_not_on_an_engine_yet(
    client_for, member, page_container, sent, log_store, no_hypervisor
):
    Container.objects.filter(pk=page_container.pk).update(engine_id="", state="creating")
    follow_post(client_for(member), f"/containers/{page_container.pk}/logs/")
    assert sent == []
    assert not log_store.follower(page_container.pk)


def test_kept_output_is_capped(log_store, monkeypatch, page_container):
    monkeypatch.setattr(logs, "KEEP_LINES", 5)
    logs.logs_replace(page_container.pk, [f"old-{i}" for i in range(8)])
    assert logs.logs_read(page_container.pk) == [f"old-{i}" for i in range(3, 8)]
    logs.logs_append(page_container.pk, ["new-1", "new-2"])
    assert logs.logs_read(page_container.pk) == ["old-5", "old-6", "old-7", "new-1", "new-2"]
    assert logs.logs_read(page_container.pk, last=2) == ["new-1", "new-2"]
    logs.logs_append(page_container.pk, [])
    logs.logs_replace(page_container.pk, [])
    assert logs.logs_read(page_container.pk) == []


def test_follow_claim_is_exclusive_and_expires(log_store, page_container, monkeypatch):
    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 30)
    assert logs.follow_until(page_container.pk) is None
    assert logs.follow_claim(page_container.pk)
    assert not logs.follow_claim(page_container.pk)
    until = logs.follow_until(page_container.pk)
    assert until is not None and 0 < until - time.time() <= 31
    logs.follow_release(page_container.pk)
    assert logs.follow_claim(page_container.pk)
