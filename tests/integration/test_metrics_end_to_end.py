"""/metrics on the real stack: a container running on the real Docker engine has its series after a reconcile."""

from __future__ import annotations

import pytest

from containers.engines.inventory import docker_host_reconcile
from tests.integration.test_consoles import local_engine, running_container  # noqa: F401 (fixtures)
from tests.support.metrics import TOKEN, labels, samples_of, scrape

pytestmark = [pytest.mark.integration]


def test_a_container_running_on_the_engine_has_its_series_after_a_reconcile(
    client,
    settings,
    running_container,  # noqa: F811
):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    container = running_container
    report = docker_host_reconcile(docker_host_id=container.docker_host_id)
    assert report.reachable and report.samples == 1
    families = scrape(client)
    series = labels(team=container.team.slug, engine=container.docker_host.name, name=container.name)
    state = samples_of(families, "portal_container_state")
    assert state[labels(**dict(series), state="running")] == 1
    assert samples_of(families, "portal_container_memory_used_bytes")[series] > 0
    assert series in samples_of(families, "portal_container_cpu_ratio")
    engine = labels(engine=container.docker_host.name)
    assert samples_of(families, "portal_engine_up")[engine] == 1
    assert 0 <= samples_of(families, "portal_engine_last_reconcile_age_seconds")[engine] < 60
