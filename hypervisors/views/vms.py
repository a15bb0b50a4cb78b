"""VM pages: the list with filters, and a VM's page with live status, actions, snapshots and load.

Pages render from database rows only; the workers, events and reconcile keep
those rows true.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from hypervisors.choices import VMState
from hypervisors.forms import SnapshotForm, VMFilterForm, VMResizeForm
from hypervisors.graphs import svg_graphs, vm_series
from hypervisors.models import VirtualMachine
from hypervisors.network_services import networks_usable_by
from hypervisors.selectors import vm_actions_for, vm_get, vm_latest_job, vm_samples_since, vms_for
from portal.choices import ROLE_RANK, Role
from portal.permissions import role_in

#: How far back the VM page's graphs go.
GRAPH_WINDOW = timedelta(hours=1)


class VMListView(LoginRequiredMixin, ListView[VirtualMachine]):
    """VMs of the user's teams: filter by name, team, state and host; sort; 50 a page."""

    template_name = "hypervisors/vm_list.html"
    context_object_name = "vms"
    paginate_by = 50

    #: What the list shows; loading only these keeps late pages of big lists cheap to sort.
    COLUMNS = ("uuid", "name", "state", "vcpus", "memory_mib", "disk_gib", "team__name", "host__name", "image__name")

    def get_queryset(self) -> Any:
        self.filter_form = VMFilterForm(self.request.GET or None, user=self.request.user)
        queryset = vms_for(self.request.user).select_related(None).select_related("team", "host", "image")
        return self.filter_form.apply(queryset.only(*self.COLUMNS))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
        return context


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
        "actions": vm_actions_for(role, vm, busy),
        "can_act": role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.MEMBER],
        "snapshots": list(vm.snapshots.all()),
        "interfaces": list(vm.interfaces.select_related("network__team")),
        "attachable": list(networks_usable_by(vm.team).filter(host=vm.host).exclude(interfaces__vm=vm)),
        "error": error,
    }


class VMDetailView(LoginRequiredMixin, View):
    """A VM's page; htmx asks for the status fragment alone, which polls while a job runs."""

    def get(self, request: HttpRequest, vm_uuid: str) -> HttpResponse:
        try:
            vm = vm_get(request.user, vm_uuid)
        except Http404:
            if request.htmx:  # type: ignore[attr-defined]
                # A failed build or a delete removes the VM; the open page moves to the
                # requests. Any unknown VM gets the same answer, so nothing leaks.
                return HttpResponseNotFound(headers={"HX-Redirect": reverse("request-list")})
            raise
        context = vm_status_context(request, vm)
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "hypervisors/_vm_status.html", context)
        now = timezone.now()
        series = vm_series(vm_samples_since(vm, now - GRAPH_WINDOW), vm.vcpus)
        context.update(
            graphs=svg_graphs(series, now, GRAPH_WINDOW),
            resize_form=VMResizeForm(initial={"vcpus": vm.vcpus, "memory_mib": vm.memory_mib}),
            snapshot_form=SnapshotForm(),
        )
        return render(request, "hypervisors/vm_detail.html", context)
