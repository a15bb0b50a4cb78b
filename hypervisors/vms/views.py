"""VM pages: the list with filters, a VM's page with live status, actions, snapshots, network cards and load,
and the form to ask for a VM.

Pages render from database rows only; the workers, events and reconcile keep
those rows true. Every POST checks scope, role and state on the server through a service.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from hypervisors.choices import VMState
from hypervisors.graphs import Series, svg_graphs, vm_series
from hypervisors.models import VirtualMachine
from hypervisors.networks.selectors import networks_usable_by
from hypervisors.vms.forms import InterfaceForm, SnapshotForm, VMFilterForm, VMRequestForm, VMResizeForm
from hypervisors.vms.selectors import (
    vm_actions_for,
    vm_get,
    vm_latest_job,
    vm_samples_since,
    vms_for,
    vms_with_addresses,
)
from hypervisors.vms.services import vm_action_request, vm_interface_request, vm_resize_request, vm_snapshot_request
from portal.choices import Role
from portal.forms import form_add_quota_errors
from portal.graphs import history_window_choices
from portal.htmx import is_htmx
from portal.pagination import COUNT_CAP, count_capped, keyset_page
from portal.permissions import role_at_least, role_in
from portal.quotas import QuotaExceeded
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView
from portal.resource_views import ResourceActionView, ResourceDetailView, ResourceHistoryView, ResourceStatusMixin

#: How far back the VM page's graphs go.
GRAPH_WINDOW = timedelta(hours=1)


class VMListView(LoginRequiredMixin, ListView[VirtualMachine]):
    """VMs of the user's teams: filter by name, team, state and host; sort; 50 a page."""

    template_name = "hypervisors/vm_list.html"
    context_object_name = "vms"
    paginate_by = 50
    #: Rows counted at most; a longer list is paged by keyset.
    count_cap = COUNT_CAP

    #: What the list shows; loading only these keeps late pages of big lists cheap to sort.
    #: ``created_at`` is there for the keyset cursor of the "newest" sort.
    #: ``host_name`` is the host's name kept on the row, so the host table is not joined.
    COLUMNS = (
        *("uuid", "name", "state", "vcpus", "memory_mib", "disk_gib", "created_at", "host_name"),
        *("team__name", "image__name"),
    )

    def get_queryset(self) -> Any:
        self.filter_form = VMFilterForm(self.request.GET or None, user=self.request.user)
        queryset = vms_for(self.request.user).select_related(None).select_related("team", "image")
        return vms_with_addresses(self.filter_form.apply(queryset.only(*self.COLUMNS)))

    def paginate_queryset(self, queryset: Any, page_size: int) -> tuple[Any, Any, Any, bool]:
        """Numbered pages while the list is short; keyset pages past ``count_cap`` rows (see ``portal.pagination``).

        Either way one capped count and one page query: the cost of a page does not grow with the list.
        """
        count = count_capped(queryset, self.count_cap)
        keyset = "after" in self.request.GET or "before" in self.request.GET
        if count <= self.count_cap and not keyset:
            paginator = self.get_paginator(queryset, page_size)
            paginator.count = count  # already known; spares the paginator its own COUNT(*)
            page = paginator.page(self._page_number(paginator))
            return paginator, page, page.object_list, page.has_other_pages()
        ordering = self.filter_form.ordering()
        keyset_part = keyset_page(queryset, ordering, page_size, params=self.request.GET, cap=self.count_cap)
        return None, keyset_part, keyset_part.object_list, keyset_part.has_next or keyset_part.has_previous

    def _page_number(self, paginator: Any) -> int:
        number = self.request.GET.get("page") or 1
        try:
            return paginator.validate_number(paginator.num_pages if number == "last" else number)
        except InvalidPage as error:
            raise Http404(str(error)) from error

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        query = self.request.GET.copy()
        for name in ("page", "after", "before"):
            query.pop(name, None)
        context["query"] = query.urlencode()
        return context


class VMPageMixin(ResourceStatusMixin):
    """How VM pages load a VM (scoped to the user's teams) and what its status fragment shows."""

    status_template = "hypervisors/_vm_status.html"
    changed_event = "vm-changed"
    detail_url_name = "vm-detail"
    lookup_kwarg = "vm_uuid"

    def detail_url(self, obj: models.Model) -> str:
        assert isinstance(obj, VirtualMachine)
        return reverse(self.detail_url_name, kwargs={"vm_uuid": obj.uuid})

    def get_object(self, request: HttpRequest, lookup: Any) -> VirtualMachine:
        return vm_get(request.user, lookup)

    def status_context(self, request: HttpRequest, obj: models.Model, error: str = "") -> dict[str, Any]:
        """State, buttons allowed now, the latest job, snapshots and network cards."""
        assert isinstance(obj, VirtualMachine)
        return vm_status_context(request, obj, error)


def vm_status_context(request: HttpRequest, vm: VirtualMachine, error: str = "") -> dict[str, Any]:
    """What the VM status fragment shows: state, buttons allowed now, the latest job, snapshots."""
    job = vm_latest_job(vm)
    busy = job is not None and not job.is_finished
    role = role_in(request.user, vm.team_id)
    return {
        "vm": vm,
        "job": job,
        "busy": busy,
        "polling": busy or vm.state == VMState.BUILDING,
        "actions": vm_actions_for(role, vm, busy, request.user.pk),
        "can_act": role_at_least(role, Role.MEMBER),
        "snapshot_actions": {
            a.slug for a in vm_actions_for(role, vm, busy, request.user.pk, ("snapshot-revert", "snapshot-delete"))
        },
        "snapshots": list(vm.snapshots.all()),
        "interfaces": list(vm.interfaces.select_related("network__team")),
        "attachable": list(networks_usable_by(vm.team).filter(host=vm.host).exclude(interfaces__vm=vm)),
        "error": error,
    }


#: Sent with every accepted action so the VM's status fragment refreshes and starts polling.
CHANGED_EVENT = VMPageMixin.changed_event


class VMDetailView(VMPageMixin, ResourceDetailView):
    """A VM's page: live status, actions, snapshots, network cards and load graphs."""

    template_name = "hypervisors/vm_detail.html"

    def page_context(self, request: HttpRequest, obj: models.Model) -> dict[str, Any]:
        assert isinstance(obj, VirtualMachine)
        now = timezone.now()
        series = vm_series(vm_samples_since(obj, now - GRAPH_WINDOW), obj.vcpus)
        return {
            "graphs": svg_graphs(series, now, GRAPH_WINDOW),
            "history_windows": history_window_choices(),
            "resize_form": VMResizeForm(
                initial={"vcpus": obj.size_target[0], "memory_mib": obj.size_target[1]}, vm=obj
            ),
            "snapshot_form": SnapshotForm(),
        }


class VMHistoryView(VMPageMixin, ResourceHistoryView):
    """The VM's load history as JSON, for the charts of its page."""

    def series(self, obj: models.Model, since: datetime) -> list[Series]:
        assert isinstance(obj, VirtualMachine)
        return vm_series(vm_samples_since(obj, since), obj.vcpus)


class VMActionView(VMPageMixin, ResourceActionView):
    """Start, shut down, force off, reboot, reset, suspend, resume or delete a VM."""

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        vm_action_request(actor=request.user, vm_id=obj.pk, slug=kwargs["slug"])


class VMSnapshotView(VMPageMixin, ResourceActionView):
    """Take, revert to or delete a snapshot."""

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        form = SnapshotForm(request.POST)
        if not form.is_valid():
            raise ValidationError([str(message) for messages_ in form.errors.values() for message in messages_])
        vm_snapshot_request(actor=request.user, vm_id=obj.pk, slug=kwargs["slug"], name=form.cleaned_data["name"])


class VMInterfaceView(VMPageMixin, ResourceActionView):
    """Attach a VM to a network, or detach it; the status fragment follows the job."""

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        assert isinstance(obj, VirtualMachine)
        form = InterfaceForm(request.POST, networks=networks_usable_by(obj.team))
        if not form.is_valid():
            raise ValidationError("Pick a network this VM may use.")
        vm_interface_request(
            actor=request.user, vm_id=obj.pk, slug=kwargs["slug"], network_id=form.cleaned_data["network"].pk
        )


class VMResizeView(LoginRequiredMixin, View):
    """Change a VM's vCPUs and memory within the team's quota; the form answers with its own errors."""

    def post(self, request: HttpRequest, vm_uuid: str) -> HttpResponse:
        vm = vm_get(request.user, vm_uuid)
        form = VMResizeForm(request.POST, vm=vm)
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
        elif not is_htmx(request):
            response.status_code = 400
        return response


class VMRequestCreateView(ResourceRequestCreateView):
    """Ask for a VM."""

    form_class = VMRequestForm
    kind_label = "a VM"
    submit_url = "vm-request"
    preview_url = "vm-request-preview"


class VMRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the quota left after this VM, and the field errors so far."""

    form_class = VMRequestForm
