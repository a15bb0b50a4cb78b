"""factory_boy factories for the containers app: engines, images, containers, networks and samples."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from containers.choices import ContainerState, DockerNetworkState
from containers.models import Container, ContainerImage, ContainerStatSample, DockerHost, DockerNetwork
from tests.factories.portal import TeamFactory


class DockerHostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DockerHost

    name = factory.Sequence(lambda n: f"docker{n}")
    base_url = factory.Sequence(lambda n: f"unix:///run/docker{n}.sock")


class ContainerImageFactory(factory.django.DjangoModelFactory):
    """An image present on an engine; ``offered_to=[team, ...]`` offers it to teams."""

    class Meta:
        model = ContainerImage
        skip_postgeneration_save = True

    docker_host = factory.SubFactory(DockerHostFactory)
    reference = factory.Sequence(lambda n: f"portal-test/image{n}:latest")
    image_id = factory.Sequence(lambda n: f"sha256:{n:064x}")
    present = True

    @factory.post_generation
    def offered_to(self, create, teams, **kwargs):
        if create and teams:
            self.offered_to.add(*teams)


class ContainerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Container

    team = factory.SubFactory(TeamFactory)
    docker_host = factory.SubFactory(DockerHostFactory)
    image = factory.SubFactory(ContainerImageFactory, docker_host=factory.SelfAttribute("..docker_host"))
    name = factory.Sequence(lambda n: f"ct{n}")
    cpus = Decimal("0.5")
    memory_mib = 64
    state = ContainerState.RUNNING


class ContainerStatSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContainerStatSample

    container = factory.SubFactory(ContainerFactory)
    taken_at = factory.LazyFunction(timezone.now)
    cpu_percent = 0.0
    memory_used_kib = 1024


class DockerNetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DockerNetwork

    team = factory.SubFactory(TeamFactory)
    docker_host = factory.SubFactory(DockerHostFactory)
    name = factory.Sequence(lambda n: f"net{n}")
    state = DockerNetworkState.ACTIVE
