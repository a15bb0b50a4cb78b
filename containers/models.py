"""Docker engines the portal knows. Facts come from the last probe; none is required."""

from django.db import models


class DockerHost(models.Model):
    """A Docker engine reached by a local socket, ``ssh://`` or TCP."""

    name = models.CharField("name", max_length=100, unique=True)
    base_url = models.CharField(
        "engine URL", max_length=300, unique=True, help_text="unix:///var/run/docker.sock, ssh://user@host, tcp://..."
    )
    is_reachable = models.BooleanField("reachable", default=False)
    engine_version = models.CharField("engine version", max_length=30, blank=True)
    cpus = models.PositiveIntegerField("CPUs", null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField("memory (MiB)", null=True, blank=True)
    last_probed_at = models.DateTimeField("last probed", null=True, blank=True)
    last_error = models.TextField("last error", blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "Docker host"

    def __str__(self) -> str:
        return self.name
