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


class NetworkKind(models.TextChoices):
    """How a VM network reaches the outside."""

    NAT = "nat", "NAT (outbound through the host, with DHCP)"
    ISOLATED = "isolated", "Isolated (host-only, with DHCP)"
    ROUTED = "routed", "Routed (the host routes the subnet)"
    BRIDGED = "bridged", "Bridged to a host bridge"
    OPENVSWITCH = "ovs", "Open vSwitch bridge"
    USER = "user", "User-mode (QEMU slirp, for qemu:///session)"


#: Kinds a team may ask for; the others take host plumbing only admins set up.
TEAM_NETWORK_KINDS = (NetworkKind.NAT, NetworkKind.ISOLATED)
#: Kinds that have a subnet handed out by the portal.
ADDRESSED_NETWORK_KINDS = (NetworkKind.NAT, NetworkKind.ISOLATED, NetworkKind.ROUTED)


class NetworkState(models.TextChoices):
    """What the portal knows of a network."""

    BUILDING = "building", "Building"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Stopped"
    MISSING = "missing", "Missing on host"
