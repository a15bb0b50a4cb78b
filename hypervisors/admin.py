"""Django admin for hosts, images and VMs. Probing a host is queued as a task, never done in the request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hypervisors.choices import HostJobAction, VMState
from hypervisors.hosts.services import host_job_request
from hypervisors.models import (
    AddressPool,
    Host,
    Image,
    Snapshot,
    UnmanagedDomain,
    VirtualMachine,
    VirtualNetwork,
    VMInterface,
)
from hypervisors.networks.services import network_action_request, network_register
from hypervisors.vms.services import vm_adopt
from portal.admin_audit import AuditedAdminMixin
from portal.models import Team
from portal.quotas import QuotaExceeded


@admin.register(Host)
class HostAdmin(AuditedAdminMixin, admin.ModelAdmin[Host]):
    list_display = (
        "name", "uri", "is_reachable", "domain_type", "cpus", "memory_mib", "accepts_new_vms", "last_probed_at",
    )  # fmt: skip
    list_filter = ("is_reachable", "accepts_new_vms", "domain_type")
    search_fields = ("name", "uri")
    readonly_fields = (
        "is_reachable", "domain_type", "cpus", "memory_mib", "libvirt_version", "hypervisor_version",
        "last_probed_at", "last_error",
    )  # fmt: skip
    actions = ("probe_selected", "reconcile_selected")

    def save_model(self, request: HttpRequest, obj: Host, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        host_job_request(actor=request.user, host_id=obj.pk, action=HostJobAction.HOST_PROBE)

    @admin.action(description="Probe selected hosts now")
    def probe_selected(self, request: HttpRequest, queryset: QuerySet[Host]) -> None:
        for host in queryset:
            host_job_request(actor=request.user, host_id=host.pk, action=HostJobAction.HOST_PROBE)
        messages.info(request, f"Probing {queryset.count()} host(s); refresh in a few seconds.")

    @admin.action(description="Reconcile selected hosts now")
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[Host]) -> None:
        for host in queryset:
            host_job_request(actor=request.user, host_id=host.pk, action=HostJobAction.HOST_RECONCILE)
        messages.info(request, f"Reconciling {queryset.count()} host(s); refresh in a few seconds.")


@admin.register(Image)
class ImageAdmin(AuditedAdminMixin, admin.ModelAdmin[Image]):
    list_display = (
        *("name", "os_name", "boot_source", "min_memory_mib", "min_disk_gib"),
        *("cloud_init", "graphical_console", "is_active"),
    )
    list_filter = ("is_active", "boot_source", "cloud_init", "graphical_console")
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

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting the row would leave the domain running, its quota freed
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: VirtualMachine | None = None) -> bool:
        """Only the row of a VM already gone from its host may be deleted here; others are deleted from their page."""
        if obj is not None and obj.state != VMState.MISSING:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin[Snapshot]):
    """Snapshots are taken through VM pages; admins read them here."""

    list_display = ("name", "vm", "created_by", "created_at")
    search_fields = ("name", "vm__name")
    list_select_related = ("vm__team", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False


class AdoptForm(forms.Form):
    """Where adopted domains go."""

    team = forms.ModelChoiceField(queryset=Team.objects.all())
    owner = forms.ModelChoiceField(queryset=User.objects.all(), required=False)


@admin.register(UnmanagedDomain)
class UnmanagedDomainAdmin(admin.ModelAdmin[UnmanagedDomain]):
    """Domains found on hosts that no VM describes, as the reconcile last saw them."""

    list_display = ("name", "host", "state", "vcpus", "memory_mib", "disk_gib", "first_seen_at", "last_seen_at")
    list_filter = ("host", "state")
    search_fields = ("name", "uuid")
    list_select_related = ("host",)
    actions = ("adopt_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UnmanagedDomain | None = None) -> bool:
        return False

    @admin.action(description="Adopt selected domains into a team…")
    def adopt_selected(self, request: HttpRequest, queryset: QuerySet[UnmanagedDomain]) -> HttpResponse | None:
        form = AdoptForm(request.POST if "team" in request.POST else None)
        if form.is_valid():
            for domain in queryset:
                try:
                    vm = vm_adopt(actor=request.user, unmanaged_id=domain.pk, **form.cleaned_data)
                except (QuotaExceeded, ValidationError, PermissionDenied) as error:
                    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                    messages.error(request, f"{domain}: {text}")
                else:
                    messages.success(request, f"{domain} is now VM {vm}.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Adopt domains into a team",
            "form": form,
            "domains": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/hypervisors/unmanageddomain/adopt.html", context)


@admin.register(AddressPool)
class AddressPoolAdmin(AuditedAdminMixin, admin.ModelAdmin[AddressPool]):
    """Ranges team subnets are cut from."""

    list_display = ("name", "cidr", "subnet_prefix")


class VirtualNetworkForm(forms.ModelForm[VirtualNetwork]):
    """A network added by an admin; the model refuses a subnet that overlaps another on the same host."""

    class Meta:
        model = VirtualNetwork
        fields = ("host", "team", "name", "kind", "subnet", "bridge", "autostart")


@admin.register(VirtualNetwork)
class VirtualNetworkAdmin(admin.ModelAdmin[VirtualNetwork]):
    """VM networks: added here (shared or for a team) or asked for by teams; started, stopped, deleted as jobs."""

    form = VirtualNetworkForm
    list_display = ("name", "team", "host", "kind", "subnet", "bridge", "state", "autostart")
    list_filter = ("host", "kind", "state", "team")
    search_fields = ("name", "libvirt_name", "subnet")
    list_select_related = ("host", "team")
    actions = ("start_selected", "stop_selected", "delete_selected_networks")

    def get_readonly_fields(self, request: HttpRequest, obj: VirtualNetwork | None = None) -> tuple[str, ...]:
        # A built network keeps its place: changing host, kind or subnet means a new network.
        return ("host", "kind", "subnet", "bridge", "state") if obj is not None else ("state",)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting goes through a job that removes it from the host
        return actions

    def save_model(self, request: HttpRequest, obj: VirtualNetwork, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        network_register(actor=request.user, network=obj)
        messages.info(request, f"Network {obj} is being defined and started on {obj.host}.")

    def _act(self, request: HttpRequest, queryset: QuerySet[VirtualNetwork], slug: str) -> None:
        for network in queryset:
            try:
                network_action_request(actor=request.user, network_id=network.pk, slug=slug)
            except (ValidationError, PermissionDenied) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                messages.error(request, f"{network}: {text}")
            else:
                messages.success(request, f"{network}: {slug} queued.")

    @admin.action(description="Start selected networks")
    def start_selected(self, request: HttpRequest, queryset: QuerySet[VirtualNetwork]) -> None:
        self._act(request, queryset, "start")

    @admin.action(description="Stop selected networks")
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[VirtualNetwork]) -> None:
        self._act(request, queryset, "stop")

    @admin.action(description="Delete selected networks from their hosts")
    def delete_selected_networks(self, request: HttpRequest, queryset: QuerySet[VirtualNetwork]) -> None:
        self._act(request, queryset, "delete")


@admin.register(VMInterface)
class VMInterfaceAdmin(admin.ModelAdmin[VMInterface]):
    """VM network cards, as attached through VM pages and requests."""

    list_display = ("mac", "vm", "network", "ip_addresses", "attached")
    search_fields = ("mac", "vm__name")
    list_select_related = ("vm__team", "network__team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: VMInterface | None = None) -> bool:
        return False
