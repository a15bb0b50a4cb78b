"""Container pages: list, a container's page (live status, actions, logs, load), and the request form.

Pages render from database rows and from the log lines workers copied into
Redis; nothing here talks to an engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from containers.choices import ContainerState
from containers.containers import logs
from containers.containers.actions import ACTIONS, BUTTONS
from containers.containers.forms import ContainerNetworkForm, ContainerRequestForm
from containers.containers.selectors import container_get, container_samples_since, containers_for
from containers.containers.services import (
    container_action_request,
    container_logs_follow_request,
    container_network_request,
)
from containers.graphs import container_series
from containers.models import Container
from containers.networks.selectors import networks_joinable_by, networks_of_team
from portal.actions import ActionRefused, actions_allowed, resource_busy
from portal.choices import Role
from portal.graphs import Series, history_window_choices, svg_graphs
from portal.permissions import role_at_least, role_in
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView
from portal.resource_views import ResourceActionView, ResourceDetailView, ResourceHistoryView, ResourceStatusMixin
from portal.selectors import jobs_for

GRAPH_WINDOW = timedelta(hours=1)
CHANGED_EVENT = "container-changed"


class ContainerListView(LoginRequiredMixin, ListView[Container]):
    """Containers of the user's teams."""

    template_name = "containers/container_list.html"
    context_object_name = "containers"
    paginate_by = 50

    def get_queryset(self) -> Any:
        return containers_for(self.request.user).order_by("team__name", "name")


def container_status_context(request: HttpRequest, container: Container, error: str = "") -> dict[str, Any]:
    """What the status fragment shows: state, buttons allowed now, the latest job, networks."""
    job = jobs_for(request.user).filter(target_type__model="container", target_id=str(container.pk)).first()
    busy = resource_busy(container)
    role = role_in(request.user, container.team_id)
    return {
        "container": container,
        "job": job,
        "busy": busy,
        "polling": busy or container.state == ContainerState.CREATING,
        "actions": actions_allowed(
            [ACTIONS[s] for s in BUTTONS],
            role=role,
            state=container.state,
            busy=busy,
            user_id=request.user.pk,
            owner_id=container.owner_id,
        ),
        "can_act": role_at_least(role, Role.MEMBER),
        "error": error,
        "networks": list(container.networks.all()),
        "joinable": list(networks_joinable_by(container)),
    }


class ContainerPageMixin(ResourceStatusMixin):
    """How container pages load a container (scoped to the user's teams) and what its status fragment shows."""

    status_template = "containers/_container_status.html"
    changed_event = "container-changed"
    detail_url_name = "container-detail"

    def get_object(self, request: HttpRequest, lookup: Any) -> Container:
        return container_get(request.user, lookup)

    def status_context(self, request: HttpRequest, obj: models.Model, error: str = "") -> dict[str, Any]:
        assert isinstance(obj, Container)
        return container_status_context(request, obj, error)


#: Sent with every accepted action so the container's status fragment refreshes and starts polling.
CHANGED_EVENT = ContainerPageMixin.changed_event


class ContainerDetailView(ContainerPageMixin, ResourceDetailView):
    """A container's page: live status, actions, networks, output and load graphs."""

    template_name = "containers/container_detail.html"

    def page_context(self, request: HttpRequest, obj: models.Model) -> dict[str, Any]:
        assert isinstance(obj, Container)
        now = timezone.now()
        series = container_series(container_samples_since(obj, now - GRAPH_WINDOW))
        return {
            "graphs": svg_graphs(series, now, GRAPH_WINDOW),
            "history_windows": history_window_choices(),
            **logs_context(obj),
        }


class ContainerHistoryView(ContainerPageMixin, ResourceHistoryView):
    """The container's load history as JSON, for the charts of its page."""

    def series(self, obj: models.Model, since: datetime) -> list[Series]:
        assert isinstance(obj, Container)
        return container_series(container_samples_since(obj, since))


class ContainerActionView(ContainerPageMixin, ResourceActionView):
    """Start, stop, restart, pause, unpause or remove a container."""

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        container_action_request(actor=request.user, container_id=obj.pk, slug=kwargs["slug"])


class ContainerNetworkView(ContainerPageMixin, ResourceActionView):
    """Connect a container to one of its team's networks, or disconnect it."""

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        assert isinstance(obj, Container)
        form = ContainerNetworkForm(request.POST, networks=networks_of_team(obj.team))
        if not form.is_valid():
            # Another team's network is not even offered: the same answer as the service gives.
            raise ValidationError("A container may only join an active network of its own team.")
        container_network_request(
            actor=request.user, container_id=obj.pk, network_id=form.cleaned_data["network"].pk, slug=kwargs["slug"]
        )


def logs_context(container: Container) -> dict[str, Any]:
    """The output lines kept for a container, and whether a worker is following it now."""
    until = logs.follow_until(container.pk)
    return {"container": container, "lines": logs.logs_read(container.pk), "following": until is not None}


class ContainerLogsView(LoginRequiredMixin, View):
    """The kept output (GET, polled while following) and the ask to follow it live (POST)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        container = container_get(request.user, pk)
        return render(request, "containers/_container_logs.html", logs_context(container))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        container = container_get(request.user, pk)
        try:
            container_logs_follow_request(actor=request.user, container_id=container.pk)
        except PermissionDenied:
            return HttpResponse("Following output needs the member role.", status=403)
        except ActionRefused as refused:
            return HttpResponse(" ".join(refused.messages), status=429)
        return render(request, "containers/_container_logs.html", {**logs_context(container), "following": True})


class ContainerRequestCreateView(ResourceRequestCreateView):
    """Ask for a container."""

    form_class = ContainerRequestForm
    kind_label = "a container"
    submit_url = "container-request"
    preview_url = "container-request-preview"


class ContainerRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the quota left after this container, and the field errors so far."""

    form_class = ContainerRequestForm
