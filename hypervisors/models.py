"""Hypervisor hosts, bootable images and virtual machines.

These rows are what pages render; they are kept true by the workers (and, later,
by events and a periodic reconcile), never by asking a host during a request.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from hypervisors.choices import BootSource, DomainType, VMState
from portal.models import ResourceRequest, Team

#: Smallest memory a guest may have; below it the kernel does not boot.
MIN_VM_MEMORY_MIB = 32


class Host(models.Model):
    """A libvirt hypervisor reached by URI. Facts come from the last probe; none is required."""

    name = models.CharField("name", max_length=100, unique=True)
    uri = models.CharField(
        "libvirt URI", max_length=300, unique=True, help_text="qemu:///system, qemu+ssh://user@host/system, ..."
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
        "network", max_length=100, blank=True, default="default", help_text="libvirt network new VMs attach to."
    )
    is_reachable = models.BooleanField("reachable", default=False)
    domain_type = models.CharField("domain type", max_length=10, choices=DomainType.choices, blank=True)
    cpus = models.PositiveIntegerField("CPUs", null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField("memory (MiB)", null=True, blank=True)
    libvirt_version = models.CharField("libvirt version", max_length=30, blank=True)
    hypervisor_version = models.CharField("hypervisor version", max_length=30, blank=True)
    hostname = models.CharField("hostname", max_length=255, blank=True)
    cpu_model = models.CharField("CPU model", max_length=100, blank=True)
    last_probed_at = models.DateTimeField("last probed", null=True, blank=True)
    unreachable_since = models.DateTimeField("unreachable since", null=True, blank=True)
    last_error = models.TextField("last error", blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "hypervisor host"

    def __str__(self) -> str:
        return self.name

    @property
    def is_emulated(self) -> bool:
        """True when guests run without hardware virtualisation."""
        return self.domain_type == DomainType.QEMU


class Image(models.Model):
    """A bootable guest image that people may pick when asking for a VM."""

    name = models.CharField("name", max_length=100, unique=True)
    os_name = models.CharField("operating system", max_length=100)
    boot_source = models.CharField("boot source", max_length=20, choices=BootSource.choices, default=BootSource.KERNEL)
    kernel_path = models.CharField("kernel path", max_length=300, help_text="Path on the host.")
    initrd_path = models.CharField("initrd path", max_length=300, blank=True, help_text="Path on the host.")
    kernel_cmdline = models.CharField("kernel command line", max_length=300, blank=True)
    min_memory_mib = models.PositiveIntegerField(
        "minimum memory (MiB)", default=64, validators=[MinValueValidator(MIN_VM_MEMORY_MIB)]
    )
    min_disk_gib = models.PositiveIntegerField("minimum disk (GiB)", default=1, validators=[MinValueValidator(1)])
    is_active = models.BooleanField("offered", default=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "image"

    def __str__(self) -> str:
        return self.name


class VirtualMachine(models.Model):
    """A VM of a team. Its UUID is chosen by the portal, so a retried build finds its own domain."""

    team = models.ForeignKey(Team, verbose_name="team", on_delete=models.PROTECT, related_name="virtual_machines")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="owner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="virtual_machines",
    )
    request = models.OneToOneField(
        ResourceRequest,
        verbose_name="request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="virtual_machine",
    )
    host = models.ForeignKey(
        Host, verbose_name="host", on_delete=models.PROTECT, null=True, blank=True, related_name="virtual_machines"
    )
    image = models.ForeignKey(
        Image, verbose_name="image", on_delete=models.PROTECT, null=True, blank=True, related_name="virtual_machines"
    )
    name = models.CharField("name", max_length=63)
    uuid = models.UUIDField("UUID", default=uuid.uuid4, unique=True, editable=False)
    domain_name = models.CharField(
        "domain name", max_length=255, blank=True, help_text="The libvirt domain's name; <team>.<name> when built here."
    )
    vcpus = models.PositiveSmallIntegerField("vCPUs", validators=[MinValueValidator(1)])
    memory_mib = models.PositiveIntegerField("memory (MiB)", validators=[MinValueValidator(MIN_VM_MEMORY_MIB)])
    disk_gib = models.PositiveIntegerField("disk (GiB)", validators=[MinValueValidator(1)])
    state = models.CharField("state", max_length=20, choices=VMState.choices, default=VMState.BUILDING)
    state_changed_at = models.DateTimeField("state changed", null=True, blank=True)
    next_boot_note = models.CharField(
        "applies at next boot", max_length=200, blank=True, help_text="Changes made while running that need a boot."
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        ordering = ("team__name", "name")
        verbose_name = "virtual machine"
        indexes = [
            models.Index(fields=("state",), name="vm_state"),
            models.Index(fields=("created_at",), name="vm_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=("team", "name"), name="vm_unique_name_per_team"),
            models.CheckConstraint(condition=Q(vcpus__gte=1), name="vm_vcpus_positive"),
            models.CheckConstraint(condition=Q(memory_mib__gte=MIN_VM_MEMORY_MIB), name="vm_memory_minimum"),
            models.CheckConstraint(condition=Q(disk_gib__gte=1), name="vm_disk_positive"),
            models.CheckConstraint(condition=Q(state__in=VMState.values), name="vm_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}" if self.team_id else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.domain_name:
            # Unique per host because team slugs and names within a team are.
            self.domain_name = f"{self.team.slug}.{self.name}"
        super().save(*args, **kwargs)

    @property
    def volume_name(self) -> str:
        """The name of the VM's disk volume in the host's storage pool."""
        return f"{self.uuid}.qcow2"


class Snapshot(models.Model):
    """A snapshot of a VM, as the portal took it. The hypervisor holds the data."""

    vm = models.ForeignKey(VirtualMachine, verbose_name="VM", on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField("name", max_length=63)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="created by", on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        ordering = ("vm", "created_at")
        verbose_name = "snapshot"
        constraints = [models.UniqueConstraint(fields=("vm", "name"), name="snapshot_unique_name_per_vm")]

    def __str__(self) -> str:
        return f"{self.vm} @ {self.name}"


class VMStatSample(models.Model):
    """One reading of a VM's counters, taken by the reconcile; old samples are pruned.

    Counters are cumulative as the host reports them (CPU time, bytes moved);
    rates come from two neighbouring samples when a graph is drawn, so a sample
    is one insert and no row is ever updated.
    """

    vm = models.ForeignKey(VirtualMachine, verbose_name="VM", on_delete=models.CASCADE, related_name="stat_samples")
    taken_at = models.DateTimeField("taken")
    cpu_time_ns = models.PositiveBigIntegerField("CPU time (ns)", null=True)
    memory_used_kib = models.PositiveBigIntegerField("memory in use (KiB)", null=True)
    disk_read_bytes = models.PositiveBigIntegerField("disk read (bytes)", null=True)
    disk_write_bytes = models.PositiveBigIntegerField("disk written (bytes)", null=True)
    net_rx_bytes = models.PositiveBigIntegerField("network received (bytes)", null=True)
    net_tx_bytes = models.PositiveBigIntegerField("network sent (bytes)", null=True)

    class Meta:
        ordering = ("vm", "taken_at")
        verbose_name = "VM stats sample"
        indexes = [models.Index(fields=("vm", "taken_at"), name="vmstat_vm_time")]

    def __str__(self) -> str:
        return f"{self.vm} at {self.taken_at:%H:%M:%S}"


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
        indexes = [models.Index(fields=("host", "taken_at"), name="hoststat_host_time")]

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
