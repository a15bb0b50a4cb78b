"""Docker engines, the images they offer to teams, and the containers the portal runs on them.

Rows are what pages render; workers, engine events and a periodic reconcile
keep them true. No page asks an engine anything.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from containers.choices import ContainerState, DockerNetworkState, RestartPolicy
from portal.bases import RemoteEndpoint, TeamResource
from portal.models import ResourceRequest, Team
from portal.uris import validate_docker_url

#: Smallest memory limit a container may have; below it even busybox struggles.
MIN_CONTAINER_MEMORY_MIB = 6


class DockerHost(RemoteEndpoint):
    """A Docker engine reached by a local socket, ``ssh://`` or TCP with TLS.

    TLS material is stored sealed (``containers.secrets``) and never rendered.
    The URL passes an allowlist (``portal.uris``): a socket only for the engine
    an admin marks local, TCP only with a verified certificate.
    """

    name = models.CharField("name", max_length=100, unique=True)
    base_url = models.CharField(
        "engine URL",
        max_length=300,
        unique=True,
        help_text="unix:///var/run/docker.sock (local engine only), ssh://user@host, or tcp://host:2376 with TLS.",
    )
    is_local = models.BooleanField(
        "local engine",
        default=False,
        help_text="The engine on the portal's own machine, reached through its unix:// socket.",
    )
    publish_address = models.GenericIPAddressField(
        "publish address", default="127.0.0.1", help_text="Host address that published container ports bind to."
    )
    accepts_new_containers = models.BooleanField("accepts new containers", default=True)
    tls_ca_certificate = models.TextField("TLS CA certificate", blank=True)
    tls_client_certificate = models.TextField("TLS client certificate", blank=True)
    tls_client_key_sealed = models.TextField("TLS client key (sealed)", blank=True, editable=False)
    engine_version = models.CharField("engine version", max_length=30, blank=True)
    cpus = models.PositiveIntegerField("CPUs", null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField("memory (MiB)", null=True, blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "Docker host"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            validate_docker_url(
                self.base_url,
                is_local=self.is_local,
                uses_tls=self.uses_tls,
                has_ca=bool(self.tls_ca_certificate.strip()),
            )
        except ValidationError as error:
            raise ValidationError({"base_url": error.messages}) from error

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_client_certificate and self.tls_client_key_sealed)


class ContainerImage(models.Model):
    """An image present on an engine; teams may use only the images offered to them."""

    docker_host = models.ForeignKey(
        DockerHost, verbose_name="Docker host", on_delete=models.CASCADE, related_name="images"
    )
    reference = models.CharField("reference", max_length=255, help_text="repository:tag")
    image_id = models.CharField("image id", max_length=80)
    size_bytes = models.PositiveBigIntegerField("size (bytes)", null=True, blank=True)
    offered_to = models.ManyToManyField(Team, verbose_name="offered to", blank=True, related_name="container_images")
    present = models.BooleanField("present on the engine", default=True)
    last_seen_at = models.DateTimeField("last seen", null=True, blank=True)

    class Meta:
        ordering = ("docker_host", "reference")
        verbose_name = "container image"
        constraints = [
            models.UniqueConstraint(fields=("docker_host", "reference"), name="image_unique_reference_per_host")
        ]

    def __str__(self) -> str:
        return f"{self.reference} on {self.docker_host}"


class Container(TeamResource):
    """A container of a team. Its create options come only from these fields, through an allowlist."""

    team = models.ForeignKey(Team, verbose_name="team", on_delete=models.PROTECT, related_name="containers")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="owner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="containers",
    )
    request = models.OneToOneField(
        ResourceRequest,
        verbose_name="request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="container",
    )
    docker_host = models.ForeignKey(
        DockerHost, verbose_name="Docker host", on_delete=models.PROTECT, related_name="containers"
    )
    image = models.ForeignKey(ContainerImage, verbose_name="image", on_delete=models.PROTECT, related_name="containers")
    command = models.JSONField("command", default=list, blank=True)
    environment = models.JSONField(
        "environment", default=dict, blank=True, help_text="Names, with values sealed (containers.secrets)."
    )
    ports = models.JSONField("published ports", default=list, blank=True)
    cpus = models.DecimalField("CPUs", max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    memory_mib = models.PositiveIntegerField("memory (MiB)", validators=[MinValueValidator(MIN_CONTAINER_MEMORY_MIB)])
    restart_policy = models.CharField(
        "restart policy", max_length=20, choices=RestartPolicy.choices, default=RestartPolicy.NO
    )
    engine_id = models.CharField("engine id", max_length=80, blank=True)
    state = models.CharField("state", max_length=20, choices=ContainerState.choices, default=ContainerState.CREATING)
    state_changed_at = models.DateTimeField("state changed", null=True, blank=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        ordering = ("team__name", "name")
        verbose_name = "container"
        indexes = [models.Index(fields=("created_at",), name="container_created")]
        constraints = [
            models.UniqueConstraint(fields=("team", "name"), name="container_unique_name_per_team"),
            models.CheckConstraint(condition=Q(cpus__gt=0), name="container_cpus_positive"),
            models.CheckConstraint(
                condition=Q(memory_mib__gte=MIN_CONTAINER_MEMORY_MIB), name="container_memory_minimum"
            ),
            models.CheckConstraint(condition=Q(state__in=ContainerState.values), name="container_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}" if self.team_id else self.name

    @property
    def engine_name(self) -> str:
        """The container's name on the engine: unique per engine because team slugs and names are."""
        return f"{self.team.slug}.{self.name}"


class ContainerStatSample(models.Model):
    """One reading of a container's CPU and memory, taken by the reconcile; old samples are pruned."""

    container = models.ForeignKey(
        Container, verbose_name="container", on_delete=models.CASCADE, related_name="stat_samples"
    )
    taken_at = models.DateTimeField("taken")
    cpu_percent = models.FloatField("CPU (% of its limit)", null=True)
    memory_used_kib = models.PositiveBigIntegerField("memory in use (KiB)", null=True)

    class Meta:
        ordering = ("container", "taken_at")
        verbose_name = "container stats sample"
        # taken_at alone serves the metrics' read of the last few reconciles' samples.
        indexes = [
            models.Index(fields=("container", "taken_at"), name="ctrstat_container_time"),
            models.Index(fields=("taken_at",), name="ctrstat_time"),
        ]

    def __str__(self) -> str:
        return f"{self.container} at {self.taken_at:%H:%M:%S}"


class DockerNetwork(TeamResource):
    """A team's user-defined bridge network on an engine; only that team's containers may join it.

    Each team also gets one network per engine that the portal makes on first use
    (``is_team_default``): containers start there, never on the engine's shared
    ``bridge``, so teams are apart unless a container is put on another network.
    """

    team = models.ForeignKey(Team, verbose_name="team", on_delete=models.PROTECT, related_name="docker_networks")
    docker_host = models.ForeignKey(
        DockerHost, verbose_name="Docker host", on_delete=models.PROTECT, related_name="networks"
    )
    request = models.OneToOneField(
        ResourceRequest,
        verbose_name="request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="docker_network",
    )
    engine_id = models.CharField("engine id", max_length=80, blank=True)
    subnet = models.CharField("subnet", max_length=43, blank=True, help_text="As the engine chose it.")
    state = models.CharField(
        "state", max_length=20, choices=DockerNetworkState.choices, default=DockerNetworkState.BUILDING
    )
    containers = models.ManyToManyField(Container, verbose_name="containers", blank=True, related_name="networks")
    is_team_default = models.BooleanField(
        "team's own network",
        default=False,
        help_text="Made by the portal for the team's containers on this engine; counted in no quota.",
    )

    class Meta:
        ordering = ("team__name", "name")
        verbose_name = "container network"
        constraints = [
            models.UniqueConstraint(fields=("team", "name"), name="docker_network_unique_name_per_team"),
            models.UniqueConstraint(
                fields=("team", "docker_host"),
                condition=Q(is_team_default=True),
                name="docker_network_one_team_default_per_engine",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}" if self.team_id else self.name

    @property
    def engine_name(self) -> str:
        """The network's name on the engine: unique per engine because team slugs and names are."""
        return f"{self.team.slug}.{self.name}"
