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


class HypervisorKind(models.TextChoices):
    """The kinds of resource this app adds to the request pipeline (values stored in ``ResourceRequest.kind``)."""

    VM = "vm", "Virtual machine"
    NETWORK = "network", "VM network"


class VMJobAction(models.TextChoices):
    """What a background job does to a VM."""

    VM_PROVISION = "vm_provision", "Provision virtual machine"
    VM_START = "vm_start", "Start"
    VM_SHUTDOWN = "vm_shutdown", "Shut down"
    VM_POWER_OFF = "vm_power_off", "Force off"
    VM_REBOOT = "vm_reboot", "Reboot"
    VM_RESET = "vm_reset", "Reset"
    VM_SUSPEND = "vm_suspend", "Suspend"
    VM_RESUME = "vm_resume", "Resume"
    VM_DELETE = "vm_delete", "Delete"
    VM_RESIZE = "vm_resize", "Resize"
    VM_SNAPSHOT_CREATE = "vm_snapshot_create", "Take snapshot"
    VM_SNAPSHOT_REVERT = "vm_snapshot_revert", "Revert to snapshot"
    VM_SNAPSHOT_DELETE = "vm_snapshot_delete", "Delete snapshot"
    VM_INTERFACE_ATTACH = "vm_interface_attach", "Attach interface"
    VM_INTERFACE_DETACH = "vm_interface_detach", "Detach interface"


class NetworkJobAction(models.TextChoices):
    """What a background job does to a VM network."""

    NETWORK_PROVISION = "network_provision", "Create network"
    NETWORK_START = "network_start", "Start network"
    NETWORK_STOP = "network_stop", "Stop network"
    NETWORK_DELETE = "network_delete", "Delete network"


class HostJobAction(models.TextChoices):
    """What a background job does to a host as a whole."""

    HOST_PROBE = "host_probe", "Probe host"
    HOST_RECONCILE = "host_reconcile", "Reconcile host"
    VOLUME_DELETE = "volume_delete", "Delete orphan volume"


class VolumeKind(models.TextChoices):
    """What a storage volume is for, as the reconcile tells it from its user and its name."""

    DISK = "disk", "VM disk"
    SEED = "seed", "Seed image (cloud-init)"
    BACKUP = "backup", "Backup"
    OTHER = "other", "Other"
