"""Choice classes of the hypervisors app."""

from django.db import models


class VMState(models.TextChoices):
    """What the portal knows of a VM. ``building`` until its provisioning job ends."""

    BUILDING = "building", "Building"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    SHUTOFF = "shutoff", "Shut off"
    CRASHED = "crashed", "Crashed"
    MISSING = "missing", "Missing on host"
    UNKNOWN = "unknown", "Unknown"


class BootSource(models.TextChoices):
    """How an image boots."""

    KERNEL = "kernel", "Direct kernel boot (kernel + initrd)"


class DomainType(models.TextChoices):
    """The libvirt domain type a host runs guests with."""

    KVM = "kvm", "KVM (hardware virtualisation)"
    QEMU = "qemu", "QEMU (software emulation)"
    TEST = "test", "libvirt test driver"
