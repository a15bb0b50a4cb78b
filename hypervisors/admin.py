"""Django admin for hosts, images and VMs. Probing a host is queued as a task, never done in the request."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from hypervisors.models import Host, Image, VirtualMachine
from hypervisors.tasks import host_probe


@admin.register(Host)
class HostAdmin(admin.ModelAdmin[Host]):
    list_display = (
        "name", "uri", "is_reachable", "domain_type", "cpus", "memory_mib", "accepts_new_vms", "last_probed_at",
    )  # fmt: skip
    list_filter = ("is_reachable", "accepts_new_vms", "domain_type")
    search_fields = ("name", "uri")
    readonly_fields = (
        "is_reachable", "domain_type", "cpus", "memory_mib", "libvirt_version", "hypervisor_version",
        "last_probed_at", "last_error",
    )  # fmt: skip
    actions = ("probe_selected",)

    def save_model(self, request: HttpRequest, obj: Host, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: host_probe.delay(obj.pk))

    @admin.action(description="Probe selected hosts now")
    def probe_selected(self, request: HttpRequest, queryset: QuerySet[Host]) -> None:
        host_ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: [host_probe.delay(host_id) for host_id in host_ids])
        messages.info(request, f"Probing {len(host_ids)} host(s); refresh in a few seconds.")


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin[Image]):
    list_display = ("name", "os_name", "boot_source", "min_memory_mib", "min_disk_gib", "is_active")
    list_filter = ("is_active", "boot_source")
    search_fields = ("name", "os_name")


@admin.register(VirtualMachine)
class VirtualMachineAdmin(admin.ModelAdmin[VirtualMachine]):
    """VMs are made and changed by requests and jobs; admins read them here."""

    list_display = ("name", "team", "state", "host", "vcpus", "memory_mib", "disk_gib", "created_at")
    list_filter = ("state", "team", "host")
    search_fields = ("name", "uuid", "team__name")
    list_select_related = ("team", "host")
    readonly_fields = [f.name for f in VirtualMachine._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: VirtualMachine | None = None) -> bool:
        return False
