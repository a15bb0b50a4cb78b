"""Bootable guest images."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from hypervisors.choices import BootSource
from hypervisors.validators import validate_guest_image_path, validate_kernel_cmdline

#: Smallest memory a guest may have; below it the kernel does not boot.
MIN_VM_MEMORY_MIB = 32


class Image(models.Model):
    """A bootable guest image that people may pick when asking for a VM."""

    name = models.CharField("name", max_length=100, unique=True)
    os_name = models.CharField("operating system", max_length=100)
    boot_source = models.CharField("boot source", max_length=20, choices=BootSource.choices, default=BootSource.KERNEL)
    kernel_path = models.CharField(
        "kernel path",
        max_length=300,
        help_text="Path on the host, inside the guest image directory.",
        validators=[validate_guest_image_path],
    )
    initrd_path = models.CharField(
        "initrd path",
        max_length=300,
        blank=True,
        help_text="Path on the host, inside the guest image directory.",
        validators=[validate_guest_image_path],
    )
    kernel_cmdline = models.CharField(
        "kernel command line", max_length=300, blank=True, validators=[validate_kernel_cmdline]
    )
    min_memory_mib = models.PositiveIntegerField(
        "minimum memory (MiB)", default=64, validators=[MinValueValidator(MIN_VM_MEMORY_MIB)]
    )
    min_disk_gib = models.PositiveIntegerField("minimum disk (GiB)", default=1, validators=[MinValueValidator(1)])
    graphical_console = models.BooleanField(
        "graphical console",
        default=False,
        help_text="VMs of this image get a VNC display (on the host's 127.0.0.1 only) and a Graphical console tab.",
    )
    is_active = models.BooleanField("offered", default=True)
    cloud_init = models.BooleanField(
        "understands cloud-init",
        default=False,
        help_text="The guest reads a NoCloud seed (a CD-ROM labelled cidata) at first boot: people asking for a VM "
        "of it may give SSH keys and cloud-config user-data.",
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "image"

    def __str__(self) -> str:
        return self.name
