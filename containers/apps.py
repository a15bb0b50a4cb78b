"""App configuration of the containers app."""

from django.apps import AppConfig


class ContainersConfig(AppConfig):
    """Docker engines and containers."""

    name = "containers"
    verbose_name = "Containers"
