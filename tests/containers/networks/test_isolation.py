"""Teams apart on a Docker engine: every container starts on its team's own bridge network, never on the
engine's shared default ``bridge``; that network is made on first use, once, and counted in no quota.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from containers.containers.provisioning import container_spec
from containers.drivers import ContainerSpec, UnsafeOptions
from containers.drivers.options import ALLOWED_CREATE_KEYS, assert_safe, create_options
from containers.models import Container, DockerNetwork
from containers.networks.services import team_network_ensure
from portal.amounts import Amounts
from portal.quotas import quota_check, teams_usage
from tests.factories import DockerHostFactory, TeamFactory
from tests.support import docker_engine as eng


def spec(**changes) -> ContainerSpec:
    values = {
        "name": "blue.web", "image": eng.BUSYBOX, "cpus": Decimal("0.5"), "memory_mib": 64,
        "labels": {"portal.team": "blue", "portal.name": "web"}, "network": "blue.team_local",
    }  # fmt: skip
    return ContainerSpec(**{**values, **changes})


def test_a_container_starts_on_the_network_its_spec_names():
    assert create_options(spec())["network_mode"] == "blue.team_local"


def test_a_spec_without_a_network_is_refused_rather_than_put_on_the_shared_bridge():
    with pytest.raises(UnsafeOptions, match="team's own network"):
        create_options(spec(network=""))


@pytest.mark.parametrize("mode", ["bridge", "default", "host", "none", "container:red.db", ""])
def test_the_engines_own_network_modes_are_refused(mode):
    options = {**create_options(spec()), "network_mode": mode}
    with pytest.raises(UnsafeOptions, match="team's own bridge network"):
        assert_safe(options, ALLOWED_CREATE_KEYS)


@pytest.mark.django_db
def test_container_spec_names_its_teams_network_on_its_engine(busybox_image, engine_team, local_engine):
    container = Container(
        team=engine_team, docker_host=local_engine, image=busybox_image, name="web", cpus=Decimal("0.5"),
        memory_mib=64,
    )  # fmt: skip
    network = container_spec(container).network
    assert network == f"{engine_team.slug}.team_{local_engine.name}"
    assert container_spec(container, network="other.name").network == "other.name", "the row's name when at hand"


@pytest.mark.django_db
def test_team_network_row_is_made_once_per_team_and_engine_and_counted_in_no_quota():
    team, other = TeamFactory(), TeamFactory()
    team.quota.network_count = 1
    team.quota.save()
    engine, second_engine = DockerHostFactory(name="Engine One"), DockerHostFactory(name="two")

    first = team_network_ensure(team=team, docker_host=engine)
    assert team_network_ensure(team=team, docker_host=engine) == first, "idempotent"
    assert first.is_team_default and first.name == "team_engine-one"
    assert first.engine_name == f"{team.slug}.team_engine-one"
    assert team_network_ensure(team=team, docker_host=second_engine) != first, "one per engine"
    assert team_network_ensure(team=other, docker_host=engine).team == other, "one per team"
    assert DockerNetwork.objects.filter(team=team).count() == 2

    assert teams_usage([team])[team.pk].used.network_count == 0
    quota_check(team=team, demand=Amounts(network_count=1), include_pending=True)  # its one network still fits


def test_provisioning_puts_the_container_on_its_teams_network_and_records_it(build, engine_team, local_engine):
    first = build("web")
    second = build("db")

    network = DockerNetwork.objects.get(team=engine_team, docker_host=local_engine, is_team_default=True)
    assert network.state == "active" and network.engine_id
    assert set(network.containers.all()) == {first, second}, "membership recorded"
    for container in (first, second):
        attached = eng.inspect(container.engine_id)["NetworkSettings"]["Networks"]
        assert list(attached) == [network.engine_name], "its team's network, and not the shared bridge"
        assert attached[network.engine_name]["NetworkID"] == network.engine_id
    job = first.request.jobs.get()
    assert f"Joining team network {network.engine_name}" in [step["message"] for step in job.log]
