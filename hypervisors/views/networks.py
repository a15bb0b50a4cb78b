"""Pages about VM networks: asking for one, acting on one, and a VM's network cards."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from hypervisors.models import VirtualNetwork
from hypervisors.network_forms import InterfaceForm, NetworkRequestForm
from hypervisors.network_services import network_action_request, networks_usable_by, vm_interface_request
from hypervisors.selectors import vm_get
from hypervisors.views.vm_actions import CHANGED_EVENT
from hypervisors.views.vms import vm_status_context
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView
from portal.selectors import teams_for


class NetworkRequestCreateView(ResourceRequestCreateView):
    """Ask for a team VM network."""

    form_class = NetworkRequestForm
    kind_label = "a VM network"
    submit_url = "network-request"
    preview_url = "network-request-preview"


class NetworkRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the network quota left after this ask."""

    form_class = NetworkRequestForm


class NetworkActionView(LoginRequiredMixin, View):
    """Start, stop or delete a team's network (team admins) — shared ones are run from the admin."""

    def post(self, request: HttpRequest, pk: int, slug: str) -> HttpResponse:
        network = get_object_or_404(VirtualNetwork.objects.filter(team__in=teams_for(request.user)), pk=pk)
        try:
            network_action_request(actor=request.user, network_id=network.pk, slug=slug)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{network}: {slug} queued.")
        return redirect("networks")


class VMInterfaceView(LoginRequiredMixin, View):
    """Attach a VM to a network, or detach it; the status fragment follows the job."""

    def post(self, request: HttpRequest, vm_uuid: str, slug: str) -> HttpResponse:
        vm = vm_get(request.user, vm_uuid)
        form = InterfaceForm(request.POST, networks=networks_usable_by(vm.team))
        error = ""
        if form.is_valid():
            try:
                vm_interface_request(
                    actor=request.user, vm_id=vm.pk, slug=slug, network_id=form.cleaned_data["network"].pk
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
        else:
            error = "Pick a network this VM may use."
        if request.htmx:  # type: ignore[attr-defined]
            response = render(request, "hypervisors/_vm_status.html", vm_status_context(request, vm, error))
            response["HX-Trigger"] = CHANGED_EVENT
            return response
        if error:
            messages.error(request, error)
        return redirect("vm-detail", vm_uuid=vm.uuid)
