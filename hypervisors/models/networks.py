"""VM networks: address pools, libvirt networks (team-owned or shared), and VM interfaces on them."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from hypervisors.choices import ADDRESSED_NETWORK_KINDS, NetworkKind, NetworkState
from hypervisors.models.hosts import Host
from hypervisors.models.vms import VirtualMachine
from portal.bases import TeamResource, TeamResourceQuerySet
from portal.models import ResourceRequest, Team


def validate_ipv4_network(value: str) -> None:
    """A CIDR such as 10.20.0.0/16: IPv4, host bits zero, between /8 and /30."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValidationError(f"{value!r} is not a network in CIDR form (like 10.20.0.0/16): {error}.") from error
    if network.version != 4:
        raise ValidationError("Only IPv4 networks are handed out.")
    if not 8 <= network.prefixlen <= 30:
        raise ValidationError("Use a prefix length from /8 to /30.")


class AddressPool(models.Model):
    """A range admins give the portal to cut team subnets from; handed-out subnets never overlap on a host."""

    name = models.CharField("name", max_length=100, unique=True)
    cidr = models.CharField("range", max_length=43, validators=[validate_ipv4_network], help_text="e.g. 10.200.0.0/16")
    subnet_prefix = models.PositiveSmallIntegerField(
        "subnet size (prefix length)",
        default=24,
        validators=[MinValueValidator(16), MaxValueValidator(29)],
        help_text="Each network handed out is this big, e.g. 24 for a /24.",
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "address pool"

    def __str__(self) -> str:
        return f"{self.name} ({self.cidr})"

    def clean(self) -> None:
        try:
            validate_ipv4_network(self.cidr)
        except ValidationError:
            return  # reported on the field itself
        if ipaddress.ip_network(self.cidr).prefixlen > self.subnet_prefix:
            raise ValidationError({"subnet_prefix": "Subnets must be smaller than the range they come from."})


class VirtualNetworkQuerySet(TeamResourceQuerySet["VirtualNetwork"]):
    """Reads of VM networks, including the address plan of a host."""

    def subnets_on(
        self, host: Host, exclude_id: int | None = None
    ) -> list[tuple[ipaddress.IPv4Network, VirtualNetwork]]:
        """The subnets the portal knows on a host, with their networks."""
        networks = self.filter(host=host).exclude(subnet="").select_related("team")
        if exclude_id is not None:
            networks = networks.exclude(pk=exclude_id)
        return [(ipaddress.IPv4Network(network.subnet), network) for network in networks]

    def overlapping(self, host: Host, subnet: str, exclude_id: int | None = None) -> VirtualNetwork | None:
        """A network on ``host`` whose subnet overlaps ``subnet``, or None."""
        wanted = ipaddress.IPv4Network(subnet)
        return next((network for taken, network in self.subnets_on(host, exclude_id) if wanted.overlaps(taken)), None)


class VirtualNetwork(TeamResource):
    """A libvirt network on a host: a team's own (asked for like any resource) or shared by admins.

    Each team also gets one NAT network per host that the portal makes on first
    use (``is_team_default``): VMs asked for without a network join it, so teams
    are apart unless an admin shares a network.
    """

    objects: ClassVar[Any] = VirtualNetworkQuerySet.as_manager()

    host = models.ForeignKey(Host, verbose_name="host", on_delete=models.PROTECT, related_name="networks")
    team = models.ForeignKey(
        Team,
        verbose_name="team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="networks",
        help_text="Empty for a network shared by every team.",
    )
    request = models.OneToOneField(
        ResourceRequest,
        verbose_name="request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="virtual_network",
    )
    kind = models.CharField("kind", max_length=10, choices=NetworkKind.choices, default=NetworkKind.NAT)
    subnet = models.CharField(
        "subnet", max_length=43, blank=True, validators=[validate_ipv4_network], help_text="CIDR; empty for bridged."
    )
    bridge = models.CharField(
        "host bridge", max_length=15, blank=True, help_text="For bridged and Open vSwitch networks: an existing bridge."
    )
    libvirt_name = models.CharField("libvirt name", max_length=100, blank=True)
    uuid = models.UUIDField("UUID", default=uuid.uuid4, unique=True, editable=False)
    autostart = models.BooleanField("start with the host", default=True)
    state = models.CharField("state", max_length=20, choices=NetworkState.choices, default=NetworkState.BUILDING)
    is_team_default = models.BooleanField(
        "team's own network",
        default=False,
        help_text="Made by the portal for the team's VMs on this host; counted in no quota.",
    )

    class Meta:
        ordering = ("host", "name")
        verbose_name = "VM network"
        constraints = [
            models.UniqueConstraint(
                fields=("team", "host"), condition=Q(is_team_default=True), name="network_one_team_default_per_host"
            ),
            models.UniqueConstraint(fields=("host", "libvirt_name"), name="network_unique_libvirt_name_per_host"),
            models.UniqueConstraint(fields=("team", "name"), name="network_unique_name_per_team"),
            models.UniqueConstraint(
                fields=("host", "name"), condition=Q(team__isnull=True), name="network_unique_shared_name_per_host"
            ),
            models.CheckConstraint(condition=Q(kind__in=NetworkKind.values), name="network_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}" if self.team is not None else f"{self.name} (shared)"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.libvirt_name:
            self.libvirt_name = f"{self.team.slug}.{self.name}" if self.team is not None else self.name
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def ip_network(self) -> ipaddress.IPv4Network | None:
        return ipaddress.IPv4Network(self.subnet) if self.subnet else None

    def clean(self) -> None:
        if self.kind in ADDRESSED_NETWORK_KINDS and not self.subnet:
            raise ValidationError({"subnet": "This kind of network needs a subnet (or leave it to a pool)."})
        if self.kind in (NetworkKind.BRIDGED, NetworkKind.OPENVSWITCH) and not self.bridge:
            raise ValidationError({"bridge": "Name the host bridge this network uses."})
        if self.kind == NetworkKind.OPENVSWITCH and self.host_id and not self.host.openvswitch:
            raise ValidationError({"kind": f"Host {self.host} has no Open vSwitch (see its probe)."})
        if self.kind == NetworkKind.USER and self.host_id and not self.host.uri.endswith("/session"):
            raise ValidationError({"kind": "User-mode networking is for qemu:///session hosts."})
        if self.kind == NetworkKind.USER and self.subnet:
            raise ValidationError({"subnet": "User-mode networking has no subnet of its own."})
        if self.subnet and self.host_id:
            try:
                validate_ipv4_network(self.subnet)
            except ValidationError:
                return  # already reported on the field
            taken = VirtualNetwork.objects.overlapping(self.host, self.subnet, exclude_id=self.pk)
            if taken is not None:
                raise ValidationError(
                    {"subnet": f"{self.subnet} overlaps {taken.subnet} of network {taken} on host {self.host}; "
                     "pick another range."}
                )  # fmt: skip


class VMInterface(models.Model):
    """A VM's network card on a network. The MAC is chosen by the portal; addresses come from DHCP leases."""

    vm = models.ForeignKey(VirtualMachine, verbose_name="VM", on_delete=models.CASCADE, related_name="interfaces")
    network = models.ForeignKey(
        VirtualNetwork, verbose_name="network", on_delete=models.PROTECT, related_name="interfaces"
    )
    mac = models.CharField("MAC address", max_length=17, unique=True)
    ip_addresses = models.JSONField("addresses", default=list, blank=True)
    attached = models.BooleanField("attached", default=False, help_text="Set once the hypervisor has the device.")
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        ordering = ("vm", "created_at")
        verbose_name = "VM interface"
        constraints = [models.UniqueConstraint(fields=("vm", "network"), name="interface_one_per_network")]

    def __str__(self) -> str:
        return f"{self.vm} on {self.network} ({self.mac})"
