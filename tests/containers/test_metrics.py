"""Engines and containers in /metrics: a series for every container, newest load of running ones, engine totals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from containers.choices import ContainerState
from tests.factories import ContainerFactory, ContainerStatSampleFactory, DockerHostFactory, TeamFactory
from tests.support.metrics import labels, samples_of, scrape

pytestmark = pytest.mark.django_db

MIB = 1024**2


@pytest.fixture
def engine():
    return DockerHostFactory(
        name="local", is_reachable=True, cpus=4, memory_mib=2048, last_reconciled_at=timezone.now()
    )


def test_every_container_has_a_state_and_limits_and_running_ones_their_newest_load(client, metrics_token, engine):
    team = TeamFactory(slug="blue")
    web = ContainerFactory(team=team, docker_host=engine, name="web", cpus=Decimal("0.5"), memory_mib=64)
    stopped = ContainerFactory(team=team, docker_host=engine, name="job", state=ContainerState.EXITED)
    ContainerStatSampleFactory(container=web, taken_at=timezone.now() - timedelta(minutes=1), cpu_percent=90.0)
    ContainerStatSampleFactory(container=web, cpu_percent=25.0, memory_used_kib=4096)
    ContainerStatSampleFactory(container=stopped, cpu_percent=50.0)  # a stopped container's last sample is history
    families = scrape(client)
    container = labels(team="blue", engine="local", name="web")
    state = samples_of(families, "portal_container_state")
    assert state[labels(team="blue", engine="local", name="web", state="running")] == 1
    assert state[labels(team="blue", engine="local", name="job", state="exited")] == 1
    assert samples_of(families, "portal_container_cpus")[container] == 0.5
    assert samples_of(families, "portal_container_memory_bytes")[container] == 64 * MIB
    assert samples_of(families, "portal_container_cpu_ratio") == {container: 0.25}
    assert samples_of(families, "portal_container_memory_used_bytes") == {container: 4096 * 1024}


def test_each_running_container_made_by_the_factories_has_a_series(client, metrics_token, engine):
    containers = ContainerFactory.create_batch(4, docker_host=engine)
    for container in containers:
        ContainerStatSampleFactory(container=container)
    families = scrape(client)
    expected = {labels(team=c.team.slug, engine="local", name=c.name) for c in containers}
    assert set(samples_of(families, "portal_container_memory_used_bytes")) == expected
    assert set(samples_of(families, "portal_container_cpus")) == expected


def test_engines_show_reachability_size_what_their_containers_were_given_and_reconcile_age(
    client, metrics_token, engine
):
    DockerHostFactory(name="remote", is_reachable=False)
    ContainerFactory(docker_host=engine, cpus=Decimal("0.5"), memory_mib=64)
    ContainerFactory(docker_host=engine, cpus=Decimal("1.25"), memory_mib=128, state=ContainerState.EXITED)
    families = scrape(client)
    local, remote = labels(engine="local"), labels(engine="remote")
    assert samples_of(families, "portal_engine_up") == {local: 1, remote: 0}
    assert samples_of(families, "portal_engine_cpus") == {local: 4}
    assert samples_of(families, "portal_engine_memory_bytes") == {local: 2048 * MIB}
    assert samples_of(families, "portal_engine_container_cpus") == {local: 1.75, remote: 0}
    assert samples_of(families, "portal_engine_container_memory_bytes")[local] == 192 * MIB
    age = samples_of(families, "portal_engine_last_reconcile_age_seconds")
    assert set(age) == {local}
    assert 0 <= age[local] < 300


def test_the_scrape_costs_the_same_queries_for_few_containers_as_for_many(client, metrics_token, engine):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ContainerStatSampleFactory(container=ContainerFactory(docker_host=engine))
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    for container in ContainerFactory.create_batch(15, docker_host=engine):
        ContainerStatSampleFactory(container=container)
    with CaptureQueriesContext(connection) as many:
        scrape(client)
    assert len(many) == len(few)
