"""Docker host services: probing an engine records what it is, or that it cannot be reached."""

import pytest

from containers.models import DockerHost
from containers.services import docker_host_probe
from tests.factories import DockerHostFactory

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
