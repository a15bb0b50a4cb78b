"""Endpoints of VMs (ask, read, act), VM networks, hosts and images.

Reads go through the VM and network selectors; asks through the VM request form and
``request_submit``; actions through the VM services, which check role, state and
quota. A VM is addressed by its UUID, as on its page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from hypervisors.api.filters import VMFilterSet, VMNetworkFilterSet
from hypervisors.api.selectors import hosts_visible, vm_networks_visible
from hypervisors.api.serializers import (
    HostSampleSerializer,
    HostSerializer,
    HostStaffSerializer,
    ImageSerializer,
    VMDetailSerializer,
    VMNetworkSerializer,
    VMSampleSerializer,
    VMSerializer,
)
from hypervisors.hosts.selectors import host_samples_since
from hypervisors.networks.actions import NETWORK_ACTIONS
from hypervisors.networks.forms import NetworkRequestForm
from hypervisors.networks.selectors import network_get, networks_usable_by
from hypervisors.networks.services import network_action_request
from hypervisors.vms.actions import ACTIONS
from hypervisors.vms.forms import InterfaceForm, SnapshotForm, VMRequestForm, VMResizeForm
from hypervisors.vms.selectors import images_offered, vm_samples_since, vms_for
from hypervisors.vms.services import vm_action_request, vm_interface_request, vm_resize_request, vm_snapshot_request
from portal.api.asks import ask_preview, ask_submit, form_serializer, form_valid, json_object
from portal.api.bases import ScopedViewSet, error_responses, in_scope, job_accepted, request_created, since_param
from portal.api.errors import FormInvalid
from portal.api.idempotency import idempotent
from portal.api.pagination import CursorPage, NumberedPage
from portal.api.serializers import JobSerializer, PreviewSerializer, RequestSerializer
from portal.forms import form_add_quota_errors
from portal.quotas import QuotaExceeded

VMAsk = form_serializer(VMRequestForm, "VMAsk", user=AnonymousUser())
VMResize = form_serializer(VMResizeForm, "VMResize")
SnapshotName = form_serializer(SnapshotForm, "SnapshotName")
InterfaceNetwork = form_serializer(InterfaceForm, "InterfaceNetwork", networks=None)
NetworkAsk = form_serializer(NetworkRequestForm, "VMNetworkAsk", user=AnonymousUser())

POWER_SLUGS = [slug for slug, a in ACTIONS.items() if not a.has_form]
ACCEPTED = {202: JobSerializer, **error_responses(400, 403, 404, 409)}


def _slug(enum: list[str]) -> list[OpenApiParameter]:
    return [OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, enum=enum)]


@extend_schema_view(
    create=extend_schema(request=VMAsk, responses={201: RequestSerializer, **error_responses(400, 403)}),
    preview=extend_schema(request=VMAsk, responses={200: PreviewSerializer, **error_responses(400)}),
    act=extend_schema(request=None, responses=ACCEPTED, parameters=_slug(POWER_SLUGS)),
    resize=extend_schema(request=VMResize, responses=ACCEPTED),
    snapshot=extend_schema(request=SnapshotName, responses=ACCEPTED, parameters=_slug(["create", "revert", "delete"])),
    interface=extend_schema(request=InterfaceNetwork, responses=ACCEPTED, parameters=_slug(["attach", "detach"])),
    samples=extend_schema(
        responses=VMSampleSerializer(many=True),
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, description="Default: an hour ago.")],
    ),
)
class VMViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """VMs of the user's teams. POST asks for a new VM (the same form and quota check as the page)."""

    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    serializer_class = VMSerializer
    pagination_class = CursorPage
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = VMFilterSet
    ordering_fields = ("created_at", "name")

    def selected(self) -> QuerySet[Any]:
        vms = vms_for(self.request.user)
        if self.action == "retrieve":
            vms = vms.prefetch_related("snapshots", "interfaces__network")
        return vms

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return VMDetailSerializer if self.action == "retrieve" else VMSerializer

    @idempotent
    def create(self, request: Request) -> Response:
        """Ask for a VM; an administrator approves it (201: the request, waiting for a decision)."""
        return request_created(ask_submit(VMRequestForm, request))

    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """What the team's quota would be after this ask, and the form's errors; nothing is stored."""
        return Response(ask_preview(VMRequestForm, request))

    @action(detail=True, methods=["post"], url_path=r"actions/(?P<slug>[a-z-]+)")
    @idempotent
    def act(self, request: Request, uuid: str, slug: str) -> Response:
        """Start, shut down, force off, reboot, reset, suspend, resume or delete."""
        vm = self.get_object()
        return job_accepted(vm_action_request(actor=request.user, vm_id=vm.pk, slug=slug))

    @action(detail=True, methods=["post"])
    @idempotent
    def resize(self, request: Request, uuid: str) -> Response:
        """New vCPUs and memory; growth must fit in the team's quota."""
        vm = self.get_object()
        form = VMResizeForm(json_object(request))
        data = form_valid(form)
        try:
            job = vm_resize_request(actor=request.user, vm_id=vm.pk, **data)
        except QuotaExceeded as error:
            form_add_quota_errors(form, error)
            raise FormInvalid(form) from error
        return job_accepted(job)

    @action(detail=True, methods=["post"], url_path=r"snapshots/(?P<slug>create|revert|delete)")
    @idempotent
    def snapshot(self, request: Request, uuid: str, slug: str) -> Response:
        """Take, revert to or delete a snapshot by name."""
        vm = self.get_object()
        name = form_valid(SnapshotForm(json_object(request)))["name"]
        return job_accepted(vm_snapshot_request(actor=request.user, vm_id=vm.pk, slug=f"snapshot-{slug}", name=name))

    @action(detail=True, methods=["post"], url_path=r"interfaces/(?P<slug>attach|detach)")
    @idempotent
    def interface(self, request: Request, uuid: str, slug: str) -> Response:
        """Attach the VM to a network (a new card) or detach it."""
        vm = self.get_object()
        network = form_valid(InterfaceForm(json_object(request), networks=networks_usable_by(vm.team)))["network"]
        job = vm_interface_request(actor=request.user, vm_id=vm.pk, slug=f"interface-{slug}", network_id=network.pk)
        return job_accepted(job)

    @action(detail=True, pagination_class=None, filter_backends=())
    def samples(self, request: Request, uuid: str) -> Response:
        """Load samples for graphs (cumulative counters, oldest first)."""
        vm = self.get_object()
        since = since_param(request)
        return Response(VMSampleSerializer(vm_samples_since(vm, since), many=True).data)


@extend_schema_view(
    create=extend_schema(request=NetworkAsk, responses={201: RequestSerializer, **error_responses(400, 403)}),
    preview=extend_schema(request=NetworkAsk, responses={200: PreviewSerializer, **error_responses(400)}),
    act=extend_schema(request=None, responses=ACCEPTED, parameters=_slug(sorted(NETWORK_ACTIONS))),
)
class VMNetworkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """VM networks: shared ones and the user's teams' own. POST asks for a team network."""

    serializer_class = VMNetworkSerializer
    pagination_class = NumberedPage
    filter_backends = (DjangoFilterBackend,)
    filterset_class = VMNetworkFilterSet
    shared = True

    def selected(self) -> QuerySet[Any]:
        return vm_networks_visible(self.request.user)

    @idempotent
    def create(self, request: Request) -> Response:
        """Ask for a team's own NAT or isolated network."""
        return request_created(ask_submit(NetworkRequestForm, request))

    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """The network quota left after this ask; nothing is stored."""
        return Response(ask_preview(NetworkRequestForm, request))

    @action(detail=True, methods=["post"], url_path=r"actions/(?P<slug>[a-z-]+)")
    @idempotent
    def act(self, request: Request, pk: str, slug: str) -> Response:
        """Start, stop or delete a team's network (team admins; shared networks are run from the admin)."""
        network = in_scope(request, network_get(request.user, int(pk)))
        return job_accepted(network_action_request(actor=request.user, network_id=network.pk, slug=slug))


class HostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Hosts: those the user's VMs and networks are on (staff: all, with capacity)."""

    pagination_class = NumberedPage
    team_field = None

    def selected(self) -> QuerySet[Any]:
        return hosts_visible(self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return HostStaffSerializer if getattr(self.request.user, "is_staff", False) else HostSerializer

    @extend_schema(responses={200: HostSampleSerializer(many=True), **error_responses(403, 404)})
    @action(detail=True, pagination_class=None, filter_backends=())
    def samples(self, request: Request, pk: str) -> Response:
        """A host's load samples for graphs (cumulative counters, oldest first): portal administrators only,
        like the host pages."""
        host = self.get_object()  # a host out of the user's sight is 404, as everywhere
        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied("A host's load is shown to portal administrators only.")
        return Response(HostSampleSerializer(host_samples_since(host, since_param(request)), many=True).data)


class ImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Guest images offered for new VMs."""

    serializer_class = ImageSerializer
    pagination_class = NumberedPage
    team_field = None

    def selected(self) -> QuerySet[Any]:
        return images_offered().order_by("name")
