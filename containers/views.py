"""Container pages: list, a container's page (live status, actions, logs, load), and the request form.

Pages render from database rows and from the log lines workers copied into
Redis; nothing here talks to an engine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from containers import logs
from containers.actions import ACTIONS, BUTTONS
from containers.choices import ContainerState, DockerNetworkState
from containers.forms import ContainerRequestForm
from containers.models import Container, DockerNetwork
from containers.network_forms import ContainerNetworkForm, ContainerNetworkRequestForm
from containers.network_services import container_network_request, docker_network_delete_request
from containers.selectors import container_get, containers_for
from containers.services import container_action_request
from containers.tasks import container_logs_follow
from portal.actions import actions_allowed, resource_busy
from portal.choices import ROLE_RANK, Role
from portal.graphs import Series, gauge_series, svg_graphs
from portal.permissions import role_in
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView
from portal.selectors import jobs_for, teams_for

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
    """What the status fragment shows: state, buttons allowed now, the latest job."""
    job = jobs_for(request.user).filter(target_type__model="container", target_id=str(container.pk)).first()
    busy = resource_busy(container)
    role = role_in(request.user, container.team_id)
    return {
        "container": container,
        "job": job,
        "busy": busy,
        "polling": busy or container.state == ContainerState.CREATING,
        "actions": actions_allowed([ACTIONS[s] for s in BUTTONS], role=role, state=container.state, busy=busy),
        "can_act": role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.MEMBER],
        "error": error,
        "networks": list(container.networks.all()),
        "joinable": list(
            DockerNetwork.objects.filter(
                team=container.team, docker_host=container.docker_host, state=DockerNetworkState.ACTIVE
            ).exclude(containers=container)
        ),
    }


class ContainerDetailView(LoginRequiredMixin, View):
    """A container's page; htmx asks for the status fragment alone, which polls while a job runs."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            container = container_get(request.user, pk)
        except Http404:
            if request.htmx:  # type: ignore[attr-defined]
                # A failed create or a removal deletes the row; the open page moves to the requests.
                return HttpResponseNotFound(headers={"HX-Redirect": reverse("request-list")})
            raise
        context = container_status_context(request, container)
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "containers/_container_status.html", context)
        now = timezone.now()
        samples = list(container.stat_samples.filter(taken_at__gte=now - GRAPH_WINDOW))
        series = [
            gauge_series(samples, lambda s: s.cpu_percent, Series("CPU (of its limit)", "%", "cpu")),
            gauge_series(
                samples,
                lambda s: s.memory_used_kib / 1024 if s.memory_used_kib is not None else None,
                Series("Memory in use", "MiB", "memory"),
            ),
        ]
        context.update(graphs=svg_graphs(series, now, GRAPH_WINDOW), **logs_context(container))
        return render(request, "containers/container_detail.html", context)


class ContainerActionView(LoginRequiredMixin, View):
    """Start, stop, restart, pause, unpause or remove a container."""

    def post(self, request: HttpRequest, pk: int, slug: str) -> HttpResponse:
        container = container_get(request.user, pk)
        error = ""
        try:
            container_action_request(actor=request.user, container_id=container.pk, slug=slug)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if request.htmx:  # type: ignore[attr-defined]
            response = render(
                request, "containers/_container_status.html", container_status_context(request, container, error)
            )
            response["HX-Trigger"] = CHANGED_EVENT
            return response
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Queued; the page follows its progress.")
        return redirect("container-detail", pk=container.pk)


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
        role = role_in(request.user, container.team_id)
        if role is None or ROLE_RANK[Role(role)] < ROLE_RANK[Role.MEMBER]:
            return HttpResponse("Following output needs the member role.", status=403)
        if container.engine_id and logs.follow_claim(container.pk):
            container_logs_follow.delay(container.pk)
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


class ContainerNetworkRequestCreateView(ResourceRequestCreateView):
    """Ask for a team container network."""

    form_class = ContainerNetworkRequestForm
    kind_label = "a container network"
    submit_url = "container-network-request"
    preview_url = "container-network-request-preview"


class ContainerNetworkRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the network quota left after this ask."""

    form_class = ContainerNetworkRequestForm


class ContainerNetworkView(LoginRequiredMixin, View):
    """Connect a container to one of its team's networks, or disconnect it."""

    def post(self, request: HttpRequest, pk: int, slug: str) -> HttpResponse:
        container = container_get(request.user, pk)
        form = ContainerNetworkForm(request.POST, networks=DockerNetwork.objects.all())
        error = ""
        if form.is_valid():
            try:
                container_network_request(
                    actor=request.user, container_id=container.pk, network_id=form.cleaned_data["network"].pk, slug=slug
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
        else:
            error = "Pick one of your team's networks."
        if request.htmx:  # type: ignore[attr-defined]
            response = render(
                request, "containers/_container_status.html", container_status_context(request, container, error)
            )
            response["HX-Trigger"] = CHANGED_EVENT
            return response
        if error:
            messages.error(request, error)
        return redirect("container-detail", pk=container.pk)


class ContainerNetworkDeleteView(LoginRequiredMixin, View):
    """Remove a team's container network (team admins)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        network = get_object_or_404(DockerNetwork.objects.filter(team__in=teams_for(request.user)), pk=pk)
        try:
            docker_network_delete_request(actor=request.user, network_id=network.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{network}: removal queued.")
        return redirect("networks")
