"""How containers, their networks and images read in the API. Environment values stay sealed: only names show."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from containers.models import Container, ContainerImage, ContainerStatSample, DockerNetwork


class ContainerSerializer(serializers.ModelSerializer[Container]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    docker_host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    image: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    environment = serializers.SerializerMethodField(help_text="Names of the variables; values are never shown.")

    class Meta:
        model = Container
        fields = ("id", "name", "team", "owner", "docker_host", "image", "command", "environment", "ports", "cpus",
                  "memory_mib", "restart_policy", "state", "state_changed_at", "created_at", "request")  # fmt: skip

    def get_environment(self, container: Container) -> list[str]:
        return sorted(container.environment or {})


class DockerNetworkSerializer(serializers.ModelSerializer[DockerNetwork]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    docker_host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = DockerNetwork
        fields = ("id", "name", "team", "docker_host", "subnet", "state", "created_at")


class ContainerImageSerializer(serializers.ModelSerializer[ContainerImage]):
    docker_host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = ContainerImage
        fields = ("id", "reference", "docker_host", "size_bytes")


class ContainerSampleSerializer(serializers.ModelSerializer[ContainerStatSample]):
    class Meta:
        model = ContainerStatSample
        fields = ("taken_at", "cpu_percent", "memory_used_kib")
