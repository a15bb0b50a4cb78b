"""Pages about VM networks: asking for one, and acting on one (team admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View

from hypervisors.networks.forms import NetworkRequestForm
from hypervisors.networks.selectors import network_get
from hypervisors.networks.services import network_action_request
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView


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
        network = network_get(request.user, pk)
        try:
            network_action_request(actor=request.user, network_id=network.pk, slug=slug)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{network}: {slug} queued.")
        return redirect("networks")
