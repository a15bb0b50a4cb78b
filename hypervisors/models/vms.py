"""Virtual machines, their snapshots and load samples.

These rows are what pages render; workers, host events and the periodic
reconcile keep them true, never a page asking a host.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from hypervisors.choices import VMState
from hypervisors.models.hosts import Host
from hypervisors.models.images import MIN_VM_MEMORY_MIB, Image
from portal.bases import TeamResource
from portal.models import ResourceRequest, Team


class VirtualMachine(TeamResource):
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
    # The host's name, kept on the row (with an index) so that the list sorts by host as cheaply as by
    # name at any size; ``save()`` follows ``host`` and ``Host.save()`` follows a renamed host.
    host_name = models.CharField(  # noqa: DJ001 - NULL (no host) sorts last, as host__name did
        "host name", max_length=100, null=True, blank=True, editable=False, help_text="The host's name, for sorting."
    )
    uuid = models.UUIDField("UUID", default=uuid.uuid4, unique=True, editable=False)
    domain_name = models.CharField(
        "domain name", max_length=255, blank=True, help_text="The libvirt domain's name; <team>.<name> when built here."
    )
    # vcpus and memory_mib are what the VM counts against its team's quota and its host's
    # capacity: the size it has now, or the larger one a resize is giving it.
    vcpus = models.PositiveSmallIntegerField("vCPUs", validators=[MinValueValidator(1)])
    memory_mib = models.PositiveIntegerField("memory (MiB)", validators=[MinValueValidator(MIN_VM_MEMORY_MIB)])
    pending_vcpus = models.PositiveSmallIntegerField(
        "vCPUs at next boot",
        null=True,
        blank=True,
        help_text="A smaller size the guest takes at its next boot; until the host shows it, the VM counts its vCPUs.",
    )
    pending_memory_mib = models.PositiveIntegerField(
        "memory at next boot (MiB)",
        null=True,
        blank=True,
        help_text="A smaller size the guest takes at its next boot; until the host shows it, the VM counts its memory.",
    )
    disk_gib = models.PositiveIntegerField("disk (GiB)", validators=[MinValueValidator(1)])
    state = models.CharField("state", max_length=20, choices=VMState.choices, default=VMState.BUILDING)
    state_changed_at = models.DateTimeField("state changed", null=True, blank=True)
    next_boot_note = models.CharField(
        "applies at next boot", max_length=200, blank=True, help_text="Changes made while running that need a boot."
    )
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        ordering = ("team__name", "name")
        verbose_name = "virtual machine"
        # The VM list sorts and filters by these; each lets PostgreSQL read a page in order.
        indexes = [
            models.Index(fields=("state", "name"), name="vm_state_name"),
            models.Index(fields=("created_at",), name="vm_created"),
            models.Index(fields=("name",), name="vm_name"),
            models.Index(fields=("-memory_mib", "name"), name="vm_memory_name"),
            models.Index(fields=("-vcpus", "name"), name="vm_vcpus_name"),
            models.Index(fields=("host", "name"), name="vm_host_name"),
            models.Index(fields=("host_name", "name"), name="vm_hostname_name"),
        ]
        constraints = [
            models.UniqueConstraint(fields=("team", "name"), name="vm_unique_name_per_team"),
            models.CheckConstraint(condition=Q(vcpus__gte=1), name="vm_vcpus_positive"),
            models.CheckConstraint(condition=Q(memory_mib__gte=MIN_VM_MEMORY_MIB), name="vm_memory_minimum"),
            models.CheckConstraint(condition=Q(disk_gib__gte=1), name="vm_disk_positive"),
            models.CheckConstraint(condition=Q(state__in=VMState.values), name="vm_state_valid"),
            # A pending size is a shrink still to happen: smaller than what is counted, never larger.
            models.CheckConstraint(
                condition=Q(pending_vcpus__isnull=True) | Q(pending_vcpus__gte=1, pending_vcpus__lt=F("vcpus")),
                name="vm_pending_vcpus_shrink",
            ),
            models.CheckConstraint(
                condition=Q(pending_memory_mib__isnull=True)
                | Q(pending_memory_mib__gte=MIN_VM_MEMORY_MIB, pending_memory_mib__lt=F("memory_mib")),
                name="vm_pending_memory_shrink",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}" if self.team_id else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.domain_name:
            # Unique per host because team slugs and names within a team are.
            self.domain_name = f"{self.team.slug}.{self.name}"
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "host" in update_fields:
            self._host_name_follow(asked=update_fields is not None)
            if update_fields is not None and "host_name" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "host_name"]
        super().save(*args, **kwargs)

    def _host_name_follow(self, *, asked: bool) -> None:
        """Copy the host's name when the host is saved.

        The database is asked only for a host not loaded, and then only when the caller names the
        host among the fields it saves (``asked``) or no name was kept yet: a full save of a row
        read without its host must not cost a query.
        """
        if self.host_id is None:
            self.host_name = None
        elif VirtualMachine.host.is_cached(self):
            self.host_name = self.host.name if self.host is not None else None
        elif asked or self.host_name is None:
            self.host_name = Host.objects.filter(pk=self.host_id).values_list("name", flat=True).first()

    def job_queue(self) -> str | None:
        """Jobs on a VM go to its host's queue (see ``portal.queues``)."""
        return self.host.job_queue() if self.host is not None else None

    @property
    def size_target(self) -> tuple[int, int]:
        """The vCPUs and memory the VM is being given: pending shrinks included."""
        return (self.pending_vcpus or self.vcpus, self.pending_memory_mib or self.memory_mib)

    @property
    def volume_name(self) -> str:
        """The name of the VM's disk volume in the host's storage pool."""
        return f"{self.uuid}.qcow2"

    @property
    def seed_volume_name(self) -> str:
        """The name of the VM's first-boot seed (a NoCloud ISO) in the host's storage pool."""
        return f"{self.uuid}-seed.iso"


class Snapshot(models.Model):
    """A snapshot of a VM, as the portal took it. The hypervisor holds the data."""

    vm = models.ForeignKey(VirtualMachine, verbose_name="VM", on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField("name", max_length=63)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="created by", on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    size_bytes = models.PositiveBigIntegerField(
        "size (bytes)",
        null=True,
        blank=True,
        help_text="What the snapshot takes on the host's storage, as the host reports it; counts against disk quota.",
    )

    class Meta:
        ordering = ("vm", "created_at")
        verbose_name = "snapshot"
        constraints = [models.UniqueConstraint(fields=("vm", "name"), name="snapshot_unique_name_per_vm")]

    def __str__(self) -> str:
        return f"{self.vm} @ {self.name}"


class VMStatSample(models.Model):
    """One reading of a VM's counters, taken by the reconcile; old ones are rolled up (``portal.history``).

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
    #: Seconds of readings the row stands for: 0 for one reading, 60 or 3600 once rolled up (``portal.history``).
    period_seconds = models.PositiveSmallIntegerField("period (s)", default=0, editable=False)

    class Meta:
        ordering = ("vm", "taken_at")
        verbose_name = "VM stats sample"
        # (period, time) finds what the history compaction rolls up or expires.
        indexes = [
            models.Index(fields=("vm", "taken_at"), name="vmstat_vm_time"),
            models.Index(fields=("period_seconds", "taken_at"), name="vmstat_period_time"),
        ]

    def __str__(self) -> str:
        return f"{self.vm} at {self.taken_at:%H:%M:%S}"
