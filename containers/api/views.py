"""Endpoints of containers (ask, read, act, join networks), container networks and container images.

Reads go through the container selectors; asks through the container request form
(the allowlist: nothing privileged, no host mounts) and ``request_submit``; actions
through the container services.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from containers.api.filters import ContainerFilterSet
from containers.api.selectors import container_samples_since, docker_networks_for
from containers.api.serializers import (
    ContainerImageSerializer,
    ContainerSampleSerializer,
    ContainerSerializer,
    DockerNetworkSerializer,
)
from containers.containers.actions import ACTIONS
from containers.containers.forms import ContainerNetworkForm, ContainerRequestForm
from containers.containers.selectors import containers_for, images_offered_to
from containers.containers.services import container_action_request, container_network_request
from containers.networks.forms import ContainerNetworkRequestForm
from containers.networks.selectors import docker_network_get, networks_of_team
from containers.networks.services import docker_network_delete_request
from portal.api.asks import ask_preview, ask_submit, form_serializer, form_valid, json_object
from portal.api.bases import ScopedViewSet, error_responses, in_scope, job_accepted, request_created, since_param
from portal.api.idempotency import idempotent
from portal.api.pagination import CursorPage, NumberedPage
from portal.api.scoping import scope_teams
from portal.api.serializers import JobSerializer, PreviewSerializer, RequestSerializer
from portal.selectors import teams_for

ContainerAsk = form_serializer(ContainerRequestForm, "ContainerAsk", user=AnonymousUser())
NetworkChoice = form_serializer(ContainerNetworkForm, "ContainerNetworkChoice", networks=None)
NetworkAsk = form_serializer(ContainerNetworkRequestForm, "ContainerNetworkAsk", user=AnonymousUser())
ACCEPTED = {202: JobSerializer, **error_responses(400, 403, 404, 409)}


def _slug(enum: list[str]) -> list[OpenApiParameter]:
    return [OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, enum=enum)]


@extend_schema_view(
    create=extend_schema(request=ContainerAsk, responses={201: RequestSerializer, **error_responses(400, 403)}),
    preview=extend_schema(request=ContainerAsk, responses={200: PreviewSerializer, **error_responses(400)}),
    act=extend_schema(request=None, responses=ACCEPTED, parameters=_slug(sorted(ACTIONS))),
    network=extend_schema(request=NetworkChoice, responses=ACCEPTED, parameters=_slug(["connect", "disconnect"])),
    samples=extend_schema(
        responses=ContainerSampleSerializer(many=True),
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, description="Default: an hour ago.")],
    ),
)
class ContainerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Containers of the user's teams. POST asks for a new container (the same form and quota check as the page)."""

    serializer_class = ContainerSerializer
    pagination_class = CursorPage
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = ContainerFilterSet
    ordering_fields = ("created_at",)

    def selected(self) -> QuerySet[Any]:
        return containers_for(self.request.user)

    @idempotent
    def create(self, request: Request) -> Response:
        """Ask for a container; an administrator approves it (201: the request, waiting for a decision)."""
        return request_created(ask_submit(ContainerRequestForm, request))

    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """What the team's quota would be after this ask, and the form's errors; nothing is stored."""
        return Response(ask_preview(ContainerRequestForm, request))

    @action(detail=True, methods=["post"], url_path=r"actions/(?P<slug>[a-z-]+)")
    @idempotent
    def act(self, request: Request, pk: str, slug: str) -> Response:
        """Start, stop, restart, pause, unpause or remove."""
        container = self.get_object()
        return job_accepted(container_action_request(actor=request.user, container_id=container.pk, slug=slug))

    @action(detail=True, methods=["post"], url_path=r"networks/(?P<slug>connect|disconnect)")
    @idempotent
    def network(self, request: Request, pk: str, slug: str) -> Response:
        """Connect the container to one of its team's networks, or disconnect it."""
        container = self.get_object()
        form = ContainerNetworkForm(json_object(request), networks=networks_of_team(container.team))
        network = form_valid(form)["network"]
        job = container_network_request(actor=request.user, container_id=container.pk, network_id=network.pk, slug=slug)
        return job_accepted(job)

    @action(detail=True, pagination_class=None, filter_backends=())
    def samples(self, request: Request, pk: str) -> Response:
        """Load samples for graphs (CPU as a share of its limit, memory in use), oldest first."""
        container = self.get_object()
        since = since_param(request)
        return Response(ContainerSampleSerializer(container_samples_since(container, since), many=True).data)


@extend_schema_view(
    create=extend_schema(request=NetworkAsk, responses={201: RequestSerializer, **error_responses(400, 403)}),
    preview=extend_schema(request=NetworkAsk, responses={200: PreviewSerializer, **error_responses(400)}),
    remove=extend_schema(request=None, responses=ACCEPTED),
)
class ContainerNetworkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Container networks of the user's teams. POST asks for a team bridge network on an engine."""

    serializer_class = DockerNetworkSerializer
    pagination_class = NumberedPage

    def selected(self) -> QuerySet[Any]:
        return docker_networks_for(self.request.user)

    @idempotent
    def create(self, request: Request) -> Response:
        """Ask for a team's own container network."""
        return request_created(ask_submit(ContainerNetworkRequestForm, request))

    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """The network quota left after this ask; nothing is stored."""
        return Response(ask_preview(ContainerNetworkRequestForm, request))

    @action(detail=True, methods=["post"], url_path="actions/delete")
    @idempotent
    def remove(self, request: Request, pk: str) -> Response:
        """Remove the network (team admins); refused while containers are on it."""
        network = in_scope(request, docker_network_get(request.user, int(pk)))
        return job_accepted(docker_network_delete_request(actor=request.user, network_id=network.pk))


class ContainerImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Container images offered to the user's teams."""

    serializer_class = ContainerImageSerializer
    pagination_class = NumberedPage
    team_field = None

    def selected(self) -> QuerySet[Any]:
        return images_offered_to(scope_teams(self.request, teams_for(self.request.user), field="pk"))
