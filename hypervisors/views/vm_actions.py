"""POST endpoints for actions on a VM. Each checks scope, role and state on the server through a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from hypervisors.forms import SnapshotForm, VMResizeForm
from hypervisors.models import VirtualMachine
from hypervisors.selectors import vm_get
from hypervisors.views.vms import vm_status_context
from hypervisors.vm_services import vm_action_request, vm_resize_request, vm_snapshot_request
from portal.forms import form_add_quota_errors
from portal.quotas import QuotaExceeded

#: Sent with every accepted action so the VM's status fragment refreshes and starts polling.
CHANGED_EVENT = "vm-changed"


def _done(request: HttpRequest, vm: VirtualMachine, error: str, success: str) -> HttpResponse:
    """The answer to an action: the fresh status fragment for htmx, a redirect with a message otherwise."""
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "hypervisors/_vm_status.html", vm_status_context(request, vm, error))
        response["HX-Trigger"] = CHANGED_EVENT
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect("vm-detail", vm_uuid=vm.uuid)


class VMActionView(LoginRequiredMixin, View):
    """Start, shut down, force off, reboot, reset, suspend, resume or delete a VM."""

    def post(self, request: HttpRequest, vm_uuid: str, slug: str) -> HttpResponse:
        vm = vm_get(request.user, vm_uuid)
        error = ""
        try:
            vm_action_request(actor=request.user, vm_id=vm.pk, slug=slug)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        return _done(request, vm, error, "Queued; the page follows its progress.")


class VMResizeView(LoginRequiredMixin, View):
    """Change a VM's vCPUs and memory within the team's quota."""

    def post(self, request: HttpRequest, vm_uuid: str) -> HttpResponse:
        vm = vm_get(request.user, vm_uuid)
        form = VMResizeForm(request.POST)
        if form.is_valid():
            try:
                vm_resize_request(actor=request.user, vm_id=vm.pk, **form.cleaned_data)
            except QuotaExceeded as exc:
                form_add_quota_errors(form, exc)
            except ValidationError as exc:
                form.add_error(None, exc)
        response = render(request, "hypervisors/_vm_resize.html", {"vm": vm, "resize_form": form}, status=200)
        if not form.errors:
            response["HX-Trigger"] = CHANGED_EVENT
        elif not request.htmx:  # type: ignore[attr-defined]
            response.status_code = 400
        return response


class VMSnapshotView(LoginRequiredMixin, View):
    """Take, revert to or delete a snapshot."""

    def post(self, request: HttpRequest, vm_uuid: str, slug: str) -> HttpResponse:
        vm = vm_get(request.user, vm_uuid)
        form = SnapshotForm(request.POST)
        error = ""
        if form.is_valid():
            try:
                vm_snapshot_request(actor=request.user, vm_id=vm.pk, slug=slug, name=form.cleaned_data["name"])
            except ValidationError as exc:
                error = " ".join(exc.messages)
        else:
            error = " ".join(str(message) for messages_ in form.errors.values() for message in messages_)
        return _done(request, vm, error, "Queued; the page follows its progress.")
