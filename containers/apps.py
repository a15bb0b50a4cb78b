"""App configuration; registers containers as a kind of resource in the request pipeline."""

from django.apps import AppConfig


class ContainersConfig(AppConfig):
    """Docker engines and containers."""

    name = "containers"
    verbose_name = "Containers"

    def ready(self) -> None:
        from containers.kind import CONTAINER_KIND
        from containers.network_kind import DOCKER_NETWORK_KIND
        from portal.kinds import kind_register

        kind_register(CONTAINER_KIND)
        kind_register(DOCKER_NETWORK_KIND)
