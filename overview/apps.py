"""App configuration of the cross-app pages."""

from django.apps import AppConfig


class OverviewConfig(AppConfig):
    """The dashboard, the networks overview and the demo seed."""

    name = "overview"
    verbose_name = "Overview"
