"""App configuration; registers containers as a kind of resource in the request pipeline, and their metrics."""

from django.apps import AppConfig


class ContainersConfig(AppConfig):
    """Docker engines and containers."""

    name = "containers"
    verbose_name = "Containers"

    def ready(self) -> None:
        from containers.choices import EngineJobAction
        from containers.containers.kind import CONTAINER_KIND
        from containers.metrics import ContainerCollector
        from containers.models import ContainerStatSample
        from containers.networks.kind import DOCKER_NETWORK_KIND
        from portal.history import SampleSpec, history_register
        from portal.kinds import job_actions_register, kind_register
        from portal.metrics import metrics_collector_register

        kind_register(CONTAINER_KIND)
        kind_register(DOCKER_NETWORK_KIND)
        job_actions_register(dict(EngineJobAction.choices))
        history_register(SampleSpec(ContainerStatSample, "container", gauges=("cpu_percent", "memory_used_kib")))

        metrics_collector_register(ContainerCollector())
        # Register the app's Celery tasks in every process (web included), so a job can be sent by name.
        import containers.tasks  # noqa: F401
