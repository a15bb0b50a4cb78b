"""Django admin: teams, quotas, and the approval of requests.

Approve and reject are admin actions (bulk) and buttons on a request's page
(per object); both call the same services as every other path, and admin code
never talks to a host.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from portal.admin_audit import AuditedAdminMixin
from portal.choices import ACTIVE_REQUEST_STATES
from portal.leases import admin as leases_admin  # noqa: F401 - registers the lease policies
from portal.models import AuditEvent, Job, Membership, Quota, ResourceRequest, SshKey, Team
from portal.notifications import admin as notifications_admin  # noqa: F401 - registers the notifications' admin
from portal.policies import admin as policies_admin  # noqa: F401 (registers the policies' admin)
from portal.quotas import QuotaExceeded
from portal.services import request_approve, request_reject


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


class QuotaInline(admin.StackedInline[Quota, Team]):
    model = Quota
    can_delete = False


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin[Team]):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (QuotaInline, MembershipInline)


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin[Membership]):
    list_display = ("user", "team", "role")
    list_filter = ("role", "team")
    search_fields = ("user__username", "team__name")
    autocomplete_fields = ("user", "team")


@admin.register(Quota)
class QuotaAdmin(AuditedAdminMixin, admin.ModelAdmin[Quota]):
    list_display = (
        "team", "vcpus", "memory_mib", "disk_gib", "vm_count", "container_count", "network_count", "snapshot_count",
    )  # fmt: skip
    search_fields = ("team__name",)


class RejectForm(forms.Form):
    """The reason a request is rejected; the person who asked reads it."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


#: What a secret value looks like on a page.
MASK = "••••••"


def spec_masked(spec: dict[str, Any]) -> dict[str, Any]:
    """A request's spec as pages show it: environment values and user-data (often passwords) replaced by a mask."""
    shown = dict(spec)
    if isinstance(shown.get("environment"), dict):
        shown["environment"] = dict.fromkeys(shown["environment"], MASK)
    if shown.get("user_data"):
        shown["user_data"] = f"{MASK} ({len(str(shown['user_data']).encode())} bytes)"
    return shown


def request_has_resource(resource_request: ResourceRequest) -> bool:
    """Whether a VM, container or network row built from this request still exists (one query per kind)."""
    for relation in resource_request._meta.related_objects:
        model = relation.related_model
        if relation.one_to_one and not isinstance(model, str):
            rows = model._default_manager.filter(**{relation.field.name: resource_request})
            if rows.exists():
                return True
    return False


def _report(request: HttpRequest, resource_request: ResourceRequest, error: Exception) -> None:
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, f"{resource_request}: {text}")


@admin.register(ResourceRequest)
class ResourceRequestAdmin(admin.ModelAdmin[ResourceRequest]):
    """Requests are decided here; their fields are read-only so that every change goes through a service."""

    list_display = ("name", "kind_label", "team", "requested_by", "sizes", "state", "created_at")
    list_filter = ("state", "kind", "team")
    search_fields = ("name", "justification", "requested_by__username", "team__name")
    list_select_related = ("team", "requested_by")
    actions = ("approve_selected", "reject_selected")
    change_form_template = "admin/portal/resourcerequest/change_form.html"
    exclude = ("spec",)  # shown masked, read-only (spec_shown)
    readonly_fields = (
        "team", "kind", "name", "spec_shown", "vcpus", "memory_mib", "disk_gib", "justification", "state",
        "requested_by", "decided_by", "approval_policy", "decision_reason", "failure_reason", "created_at",
        "decided_at", "finished_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, obj: ResourceRequest) -> str:
        return obj.kind_label

    @admin.display(description="sizes")
    def sizes(self, obj: ResourceRequest) -> str:
        """In the kind's own units: whole vCPUs for a VM ("1 vCPU"), CPUs for a container ("0.5 CPU")."""
        return obj.sizes_text or "—"

    @admin.display(description="spec")
    def spec_shown(self, obj: ResourceRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(spec_masked(obj.spec), indent=2, ensure_ascii=False))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would free quota while the resources keep running
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: ResourceRequest | None = None) -> bool:
        """Only a finished request with nothing left of it may go: others hold quota or a live resource."""
        if obj is not None and (obj.state in ACTIVE_REQUEST_STATES or request_has_resource(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name="portal_request_approve"),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name="portal_request_reject"),
        ]
        return own + super().get_urls()

    @admin.action(description="Approve selected requests", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ResourceRequest]) -> None:
        queued = applied = 0
        for resource_request in queryset:
            try:
                job = request_approve(actor=request.user, request_id=resource_request.pk)
            except (QuotaExceeded, ValidationError, PermissionDenied) as error:
                _report(request, resource_request, error)
            else:
                queued, applied = (queued + 1, applied) if job is not None else (queued, applied + 1)
        if queued:
            messages.success(request, f"Approved {queued} request(s); provisioning has been queued.")
        if applied:
            messages.success(request, f"Approved {applied} request(s); the change is made.")

    @admin.action(description="Reject selected requests…", permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[ResourceRequest]) -> HttpResponse | None:
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            rejected = 0
            for resource_request in queryset:
                try:
                    request_reject(
                        actor=request.user, request_id=resource_request.pk, reason=form.cleaned_data["reason"]
                    )
                except (ValidationError, PermissionDenied) as error:
                    _report(request, resource_request, error)
                else:
                    rejected += 1
            if rejected:
                messages.success(request, f"Rejected {rejected} request(s).")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject requests",
            "form": form,
            "requests": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/portal/resourcerequest/reject.html", context)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.decide_resourcerequest")

    def _decidable(self, request: HttpRequest, pk: int) -> ResourceRequest:
        """The request, for staff allowed to see and decide it; PermissionDenied (403) for others."""
        resource_request = get_object_or_404(ResourceRequest, pk=pk)
        if not (self.has_view_permission(request, resource_request) and self.has_decide_permission(request)):
            raise PermissionDenied
        return resource_request

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        resource_request = self._decidable(request, pk)
        change_url = reverse("admin:portal_resourcerequest_change", args=[pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        try:
            job = request_approve(actor=request.user, request_id=pk)
        except (QuotaExceeded, ValidationError, PermissionDenied) as error:
            _report(request, resource_request, error)
        else:
            done = "provisioning has been queued" if job is not None else "the change is made"
            messages.success(request, f"Approved {resource_request}; {done}.")
        return HttpResponseRedirect(change_url)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        resource_request = self._decidable(request, pk)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                request_reject(actor=request.user, request_id=pk, reason=form.cleaned_data["reason"])
            except (ValidationError, PermissionDenied) as error:
                _report(request, resource_request, error)
            else:
                messages.success(request, f"Rejected {resource_request}.")
            return HttpResponseRedirect(reverse("admin:portal_resourcerequest_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject {resource_request}",
            "form": form,
            "requests": [resource_request],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/portal/resourcerequest/reject.html", context)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    """Jobs are written by workers only; admins read them."""

    list_display = ("id", "action_label", "team", "state", "progress", "requested_by", "created_at", "finished_at")
    list_filter = ("state", "action", "team")
    list_select_related = ("team", "requested_by")
    readonly_fields = [f.name for f in Job._meta.get_fields() if f.concrete]

    @admin.display(description="action", ordering="action")
    def action_label(self, obj: Job) -> str:
        return obj.action_label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """The audit trail is append-only."""

    list_display = ("created_at", "actor_shown", "action", "target_repr", "team", "result", "detail")
    list_filter = ("result", "action", "team")
    search_fields = ("target_repr", "actor__username", "actor_label", "detail")
    list_select_related = ("actor", "team")

    @admin.display(description="actor", ordering="actor__username")
    def actor_shown(self, obj: AuditEvent) -> str:
        """The person, or what acted for the system ("policy small-vms")."""
        return obj.actor_shown

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(SshKey)
class SshKeyAdmin(admin.ModelAdmin[SshKey]):
    """People's public keys, read only: only their owner adds or deletes them (on the profile page)."""

    list_display = ("name", "user", "key_type", "fingerprint", "created_at")
    search_fields = ("name", "user__username", "fingerprint")
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SshKey | None = None) -> bool:
        return False
