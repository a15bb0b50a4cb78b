"""Pages about container networks: asking for one, and removing one (team admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View

from containers.networks.forms import ContainerNetworkRequestForm
from containers.networks.selectors import docker_network_get
from containers.networks.services import docker_network_delete_request
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView


class ContainerNetworkRequestCreateView(ResourceRequestCreateView):
    """Ask for a team container network."""

    form_class = ContainerNetworkRequestForm
    kind_label = "a container network"
    submit_url = "container-network-request"
    preview_url = "container-network-request-preview"


class ContainerNetworkRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the network quota left after this ask."""

    form_class = ContainerNetworkRequestForm


class ContainerNetworkDeleteView(LoginRequiredMixin, View):
    """Remove a team's container network (team admins)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        network = docker_network_get(request.user, pk)
        try:
            docker_network_delete_request(actor=request.user, network_id=network.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{network}: removal queued.")
        return redirect("networks")
