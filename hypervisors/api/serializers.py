"""How VMs, VM networks, hosts and images read in the API. Output only: writes go through forms and services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from hypervisors.models import (
    Host,
    HostStatSample,
    Image,
    Snapshot,
    VirtualMachine,
    VirtualNetwork,
    VMInterface,
    VMStatSample,
)


class VMSerializer(serializers.ModelSerializer[VirtualMachine]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    image: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = VirtualMachine
        fields: tuple[str, ...] = (
            "uuid", "name", "team", "owner", "host", "image", "vcpus", "memory_mib", "disk_gib", "state",
            "state_changed_at", "next_boot_note", "created_at", "request",
        )  # fmt: skip


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    class Meta:
        model = Snapshot
        fields = ("name", "created_at")


class InterfaceSerializer(serializers.ModelSerializer[VMInterface]):
    network: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(read_only=True)
    network_name = serializers.CharField(source="network.name", read_only=True)

    class Meta:
        model = VMInterface
        fields = ("network", "network_name", "mac", "ip_addresses", "attached")


class VMDetailSerializer(VMSerializer):
    snapshots = SnapshotSerializer(many=True, read_only=True)
    interfaces = InterfaceSerializer(many=True, read_only=True)

    class Meta(VMSerializer.Meta):
        fields = (*VMSerializer.Meta.fields, "snapshots", "interfaces")


class VMSampleSerializer(serializers.ModelSerializer[VMStatSample]):
    class Meta:
        model = VMStatSample
        fields = ("taken_at", "cpu_time_ns", "memory_used_kib", "disk_read_bytes", "disk_write_bytes",
                  "net_rx_bytes", "net_tx_bytes")  # fmt: skip


class VMNetworkSerializer(serializers.ModelSerializer[VirtualNetwork]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = VirtualNetwork
        fields = ("id", "name", "team", "host", "kind", "subnet", "state", "created_at")


class HostSerializer(serializers.ModelSerializer[Host]):
    """What a member may know of a host: where it is and whether it answers."""

    class Meta:
        model = Host
        fields: tuple[str, ...] = ("id", "name", "is_reachable", "accepts_new_vms", "domain_type")


class HostStaffSerializer(HostSerializer):
    """Portal administrators also see the host's capacity and software, as on the host pages."""

    class Meta(HostSerializer.Meta):
        fields = (*HostSerializer.Meta.fields, "cpus", "memory_mib", "cpu_model", "libvirt_version",
                  "hypervisor_version", "last_probed_at", "unreachable_since")  # fmt: skip


class HostSampleSerializer(serializers.ModelSerializer[HostStatSample]):
    class Meta:
        model = HostStatSample
        fields = ("taken_at", "cpu_busy_ns", "cpu_total_ns", "memory_total_kib", "memory_free_kib", "running_domains")


class ImageSerializer(serializers.ModelSerializer[Image]):
    class Meta:
        model = Image
        fields = ("id", "name", "os_name", "min_memory_mib", "min_disk_gib", "graphical_console")
