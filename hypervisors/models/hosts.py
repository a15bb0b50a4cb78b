"""Hypervisor hosts, their load samples, and the domains on them the portal does not manage."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from hypervisors.choices import DomainType, VMState
from portal.bases import RemoteEndpoint
from portal.uris import validate_libvirt_uri


class Host(RemoteEndpoint):
    """A libvirt hypervisor reached by URI. Facts come from the last probe; none is required."""

    name = models.CharField("name", max_length=100, unique=True)
    uri = models.CharField(
        "libvirt URI",
        max_length=300,
        unique=True,
        help_text="qemu:///system, qemu:///session, qemu+ssh://user@host/system or qemu+tls://host/system.",
        validators=[validate_libvirt_uri],
    )
    accepts_new_vms = models.BooleanField(
        "accepts new VMs", default=True, help_text="Untick to put the host in maintenance."
    )
    storage_pool = models.CharField("storage pool", max_length=100, default="default")
    storage_path = models.CharField(
        "storage pool path",
        max_length=300,
        default="/var/lib/libvirt/images",
        help_text="Directory used when the pool has to be created.",
    )
    network = models.CharField(
        "network",
        max_length=100,
        blank=True,
        default="default",
        help_text=(
            "New VMs asked for without a network join this libvirt network only when an admin has added it as "
            "a shared VM network on this host; otherwise each team gets its own network."
        ),
    )
    domain_type = models.CharField("domain type", max_length=10, choices=DomainType.choices, blank=True)
    cpus = models.PositiveIntegerField("CPUs", null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField("memory (MiB)", null=True, blank=True)
    libvirt_version = models.CharField("libvirt version", max_length=30, blank=True)
    hypervisor_version = models.CharField("hypervisor version", max_length=30, blank=True)
    hostname = models.CharField("hostname", max_length=255, blank=True)
    openvswitch = models.BooleanField(
        "Open vSwitch available",
        default=False,
        help_text="Found by the probe on local hosts; tick it for a remote host that runs Open vSwitch.",
    )
    cpu_model = models.CharField("CPU model", max_length=100, blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "hypervisor host"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and (update_fields is None or "name" in update_fields):
            # VMs keep their host's name for sorting (``VirtualMachine.host_name``); a rename reaches them here.
            self.virtual_machines.exclude(host_name=self.name).update(host_name=self.name)

    def job_queue(self) -> str | None:
        """The Celery queue for work on this host (see ``portal.queues``); None: the default queue."""
        return f"host.{self.name}" if settings.PORTAL_HOST_QUEUES else None

    @property
    def is_emulated(self) -> bool:
        """True when guests run without hardware virtualisation."""
        return self.domain_type == DomainType.QEMU


class HostStatSample(models.Model):
    """One reading of a host's counters, taken by the reconcile; old samples are pruned."""

    host = models.ForeignKey(Host, verbose_name="host", on_delete=models.CASCADE, related_name="stat_samples")
    taken_at = models.DateTimeField("taken")
    cpu_busy_ns = models.PositiveBigIntegerField("CPU busy (ns)", null=True)
    cpu_total_ns = models.PositiveBigIntegerField("CPU total (ns)", null=True)
    memory_total_kib = models.PositiveBigIntegerField("memory (KiB)", null=True)
    memory_free_kib = models.PositiveBigIntegerField("memory free (KiB)", null=True)
    running_domains = models.PositiveIntegerField("running domains")

    class Meta:
        ordering = ("host", "taken_at")
        verbose_name = "host stats sample"
        # taken_at alone serves the metrics' read of the last few reconciles' samples.
        indexes = [
            models.Index(fields=("host", "taken_at"), name="hoststat_host_time"),
            models.Index(fields=("taken_at",), name="hoststat_time"),
        ]

    def __str__(self) -> str:
        return f"{self.host} at {self.taken_at:%H:%M:%S}"


class UnmanagedDomain(models.Model):
    """A domain found on a host that no VM row describes; admins may adopt it into a team."""

    host = models.ForeignKey(Host, verbose_name="host", on_delete=models.CASCADE, related_name="unmanaged_domains")
    uuid = models.UUIDField("UUID")
    name = models.CharField("name", max_length=255)
    state = models.CharField("state", max_length=20, choices=VMState.choices)
    vcpus = models.PositiveSmallIntegerField("vCPUs", null=True)
    memory_mib = models.PositiveIntegerField("memory (MiB)", null=True)
    disk_gib = models.PositiveIntegerField("disk (GiB)", null=True)
    first_seen_at = models.DateTimeField("first seen", auto_now_add=True)
    last_seen_at = models.DateTimeField("last seen")

    class Meta:
        ordering = ("host", "name")
        verbose_name = "unmanaged domain"
        constraints = [models.UniqueConstraint(fields=("host", "uuid"), name="unmanaged_unique_per_host")]

    def __str__(self) -> str:
        return f"{self.name} on {self.host}"
