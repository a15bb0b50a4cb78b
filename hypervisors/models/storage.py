"""Storage pools of hosts and the volumes in them, as the reconcile last read them.

Pages (admins' storage page, a team's volumes, placement's fill check) read these rows; only the
reconcile writes them, from one bulk read per host.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q

from hypervisors.choices import VolumeKind
from hypervisors.models.hosts import Host
from hypervisors.models.vms import VirtualMachine


class StoragePool(models.Model):
    """A libvirt storage pool of a host; sizes in bytes as the host reports them."""

    host = models.ForeignKey(Host, verbose_name="host", on_delete=models.CASCADE, related_name="storage_pools")
    name = models.CharField("name", max_length=255)
    capacity = models.PositiveBigIntegerField("capacity (bytes)")
    allocation = models.PositiveBigIntegerField("allocation (bytes)")
    available = models.PositiveBigIntegerField("available (bytes)")
    active = models.BooleanField("active")
    volumes_digest = models.CharField(
        "volumes digest",
        max_length=64,
        blank=True,
        editable=False,
        help_text="A digest of its volumes' rows as the reconcile last wrote them: unchanged, they are not read again.",
    )
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        ordering = ("host__name", "name")
        verbose_name = "storage pool"
        constraints = [models.UniqueConstraint(fields=("host", "name"), name="storagepool_unique_per_host")]

    def __str__(self) -> str:
        return f"{self.name} on {self.host}"

    @property
    def fill(self) -> float:
        """The share of the pool's capacity allocated (0 for a pool of unknown size)."""
        return self.allocation / self.capacity if self.capacity else 0.0


class StorageVolumeQuerySet(models.QuerySet["StorageVolume"]):
    """Reads of volumes: a team sees only the volumes of its own VMs."""

    def for_user(self, user: User | AnonymousUser) -> StorageVolumeQuerySet:
        """Volumes of VMs of the teams the user belongs to; superusers see all, strangers nothing.

        Unowned volumes belong to no team, so only administrators (on their own page) see them.
        """
        if not user.is_authenticated:
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(owner__team__memberships__user_id=user.pk)


class StorageVolume(models.Model):
    """A volume in a pool; ``owner`` is the VM whose disk it is, ``used_by`` the domain that uses it.

    A volume neither a VM owns nor any domain on the host uses is an orphan: admins may delete it.
    """

    pool = models.ForeignKey(StoragePool, verbose_name="pool", on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField("name", max_length=255)
    path = models.CharField("path", max_length=1024)
    capacity = models.PositiveBigIntegerField("capacity (bytes)")
    allocation = models.PositiveBigIntegerField("allocation (bytes)")
    owner = models.ForeignKey(
        VirtualMachine,
        verbose_name="owner VM",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volumes",
    )
    used_by = models.CharField(
        "used by domain", max_length=255, blank=True, help_text="The domain whose definition names the volume."
    )
    kind = models.CharField("kind", max_length=10, choices=VolumeKind.choices, default=VolumeKind.OTHER)
    orphan = models.BooleanField("orphan", default=False, help_text="No VM owns it and no domain uses it.")

    objects: ClassVar[Any] = StorageVolumeQuerySet.as_manager()

    class Meta:
        ordering = ("pool", "name")
        verbose_name = "storage volume"
        constraints = [
            models.UniqueConstraint(fields=("pool", "name"), name="storagevolume_unique_per_pool"),
            models.CheckConstraint(
                condition=Q(orphan=False) | Q(owner__isnull=True, used_by=""), name="storagevolume_orphan_unused"
            ),
            models.CheckConstraint(condition=Q(kind__in=VolumeKind.values), name="storagevolume_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.pool}"
