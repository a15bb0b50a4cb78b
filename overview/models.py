"""The small table behind the "KVM or Docker?" page, filled by a periodic task."""

from __future__ import annotations

from django.db import models


class Platform(models.TextChoices):
    """What runs a resource: a libvirt host (VMs) or a Docker engine (containers)."""

    KVM = "kvm", "KVM virtual machines"
    DOCKER = "docker", "Docker containers"


class PlatformFigures(models.Model):
    """What this installation's own jobs and samples say about one host or engine.

    Written by ``overview.comparison.figures_refresh`` (a beat task), read by the
    comparison page and the hint on the request forms, so neither computes
    percentiles nor asks a host while rendering.
    """

    platform = models.CharField("platform", max_length=10, choices=Platform.choices)
    #: The host's or engine's primary key, and its name when the figures were taken.
    place_id = models.PositiveIntegerField("host or engine id")
    place_name = models.CharField("host or engine", max_length=100)
    builds = models.PositiveIntegerField("builds in the window", default=0)
    start_median_seconds = models.FloatField("approval to running, median (s)", null=True)
    start_p95_seconds = models.FloatField("approval to running, p95 (s)", null=True)
    instances_measured = models.PositiveIntegerField("running instances measured", default=0)
    #: VMs only: the QEMU process's memory beyond what the guest was given (negative while the guest
    #: has not touched all of it yet). A container has no such layer: its figure is the share below.
    memory_overhead_mib_median = models.FloatField("memory beyond the size given, median (MiB)", null=True)
    #: Containers: memory in use as a share of the limit; VMs: the QEMU process against what was given.
    memory_use_percent_median = models.FloatField("memory in use of the size given, median (%)", null=True)
    free_cpus = models.FloatField("CPUs still free", null=True)
    free_memory_mib = models.FloatField("memory still free (MiB)", null=True)
    computed_at = models.DateTimeField("computed")

    class Meta:
        ordering = ("platform", "place_name")
        verbose_name = "platform figures"
        verbose_name_plural = "platform figures"
        constraints = [models.UniqueConstraint(fields=("platform", "place_id"), name="platform_figures_unique")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} on {self.place_name}"
