"""The Docker driver's own guards: TLS always verified, and a namesake container is never taken for ours."""

from __future__ import annotations

from decimal import Decimal

import pytest

from containers.drivers import ContainerSpec, EngineError
from containers.drivers.docker_driver import DockerEngine, labels_match
from tests.support import docker_engine as eng

CERT = "-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n"


def test_tls_without_a_ca_certificate_is_refused_not_unverified():
    engine = DockerEngine("tcp://engine.example.org:2376", {"client_certificate": CERT, "client_key": KEY})
    try:
        with pytest.raises(EngineError, match="CA certificate is missing"):
            engine._tls_config()
    finally:
        engine.close()


def test_tls_with_a_ca_certificate_verifies_the_engine():
    tls = {"client_certificate": CERT, "client_key": KEY, "ca_certificate": CERT}
    engine = DockerEngine("tcp://engine.example.org:2376", tls)
    try:
        config = engine._tls_config()
        assert config.verify, "the engine's certificate is checked"
        assert config.ca_cert and config.ca_cert.endswith("ca_certificate.pem")
    finally:
        engine.close()


def test_plain_tcp_is_refused_by_the_driver_too():
    engine = DockerEngine("tcp://engine.example.org:2375")
    with pytest.raises(EngineError, match="only over TLS"):
        engine._tls_config()


@pytest.mark.parametrize(
    ("found", "ours"),
    [
        ({"portal.team": "blue", "portal.name": "web"}, True),
        ({"portal.team": "blue", "portal.name": "web", "other": "x"}, True),
        ({"portal.team": "red", "portal.name": "web"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_labels_decide_ownership(found, ours):
    assert labels_match(found, {"portal.team": "blue", "portal.name": "web"}) is ours


@pytest.mark.integration
def test_a_namesake_without_our_labels_is_neither_adopted_nor_removed():
    eng.require_engine()
    slug = eng.unique("ns")
    name = f"{slug}.web"
    client = eng.docker_client()
    try:
        foreign = client.containers.create(eng.BUSYBOX, ["sleep", "60"], name=name, labels={"owner": "someone"})
        spec = ContainerSpec(
            name=name, image=eng.BUSYBOX, cpus=Decimal("0.1"), memory_mib=16, command=["sleep", "60"],
            labels={"portal.team": slug, "portal.name": "web"}, network=f"{slug}.team_local",
        )  # fmt: skip
        with DockerEngine(eng.LOCAL_ENGINE) as engine:
            with pytest.raises(EngineError, match="was not made for this resource"):
                engine.container_create(spec)
            engine.container_remove(name, labels=dict(spec.labels))
        assert client.containers.get(name).id == foreign.id, "the namesake is still there"
    finally:
        eng.containers_remove(f"{slug}.")
        client.close()
