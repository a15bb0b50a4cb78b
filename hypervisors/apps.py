"""App configuration; registers VMs as a kind of resource in the request pipeline, and their metrics."""

from django.apps import AppConfig


class HypervisorsConfig(AppConfig):
    """libvirt hosts, images and virtual machines."""

    name = "hypervisors"
    verbose_name = "Hypervisors"

    def ready(self) -> None:
        from hypervisors.choices import HostJobAction
        from hypervisors.metrics import HypervisorCollector, host_queues
        from hypervisors.models import HostStatSample, VMStatSample
        from hypervisors.networks.kind import NETWORK_KIND
        from hypervisors.vms.kind import VM_KIND
        from portal.history import SampleSpec, history_register
        from portal.kinds import job_actions_register, kind_register
        from portal.metrics import metrics_collector_register, metrics_queues_register

        kind_register(VM_KIND)
        kind_register(NETWORK_KIND)
        job_actions_register(dict(HostJobAction.choices))
        counters = ("cpu_time_ns", "disk_read_bytes", "disk_write_bytes", "net_rx_bytes", "net_tx_bytes")
        history_register(SampleSpec(VMStatSample, "vm", counters=counters, gauges=("memory_used_kib",)))
        history_register(
            SampleSpec(
                HostStatSample,
                "host",
                counters=("cpu_busy_ns", "cpu_total_ns"),
                gauges=("memory_total_kib", "memory_free_kib", "running_domains"),
            )
        )

        metrics_collector_register(HypervisorCollector())
        metrics_queues_register(host_queues)
        # Register the app's Celery tasks in every process (web included), so a job can be sent by name.
        import hypervisors.tasks  # noqa: F401
